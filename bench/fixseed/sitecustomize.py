# For the before/after comparison only: torch's default seed is random per process, so pin it.
import os
if os.environ.get("STUDYLIB_COMPARE_SEED"):
    import torch
    torch.manual_seed(int(os.environ["STUDYLIB_COMPARE_SEED"]))
