"""What notebook 01 shows, one call per section: the tables and figures of each dataset the audit reads,
or, for a dataset whose section is skipped (not audited, absent or unusable: `data.audit.sections`), the
one line saying so. The figures are drawn here (the data layer computes; it draws nothing)."""
from __future__ import annotations

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from ..data import audit
from . import plots, widgets
from .display import claims_table

__all__ = ["data_checks", "sample_browser", "show_deepweeds", "show_fer", "show_ferplus", "show_findings",
           "show_folders"]


def _skipped(plan: dict, *datasets: str) -> bool:
    """Display the line of each of `datasets` whose section is skipped; True when all of them are."""
    lines = [plan[d] for d in datasets if plan[d]]
    for line in lines:
        display(Markdown(line))
    return len(lines) == len(datasets)


def _figure(fig) -> None:
    """Show a figure once (closed after, so the inline backend does not show it again)."""
    display(fig)
    plt.close(fig)


def show_fer(fer: dict, plan: dict, n_samples: int) -> None:
    """FER2013: images per class and split, each split's imbalance and majority baseline, the class
    distribution and a few training images of every class."""
    if _skipped(plan, "fer2013"):
        return
    splits = list(fer.values())
    display(audit.counts(splits))
    display(audit.summary(splits).set_index(["dataset", "split"]))
    _figure(plots.class_distribution(audit.counts(splits).drop(columns="total"), "FER2013 classes per split"))
    train = fer["Training"]
    pick = audit.sample_indices(train, n_samples)
    _figure(plots.image_grid(train.images[pick], [train.classes[c] for c in train.labels[pick]], ncols=8,
                             title="FER2013 training samples"))


def show_findings(fer: dict, blank: list[int], dups: dict) -> None:
    """FER2013's blank images and duplicates as one small table (nothing when its section is skipped)."""
    if fer:
        display(audit.oddities_table(blank, dups).set_index("finding"))


def show_ferplus(data_dir, agree: dict | None, plan: dict) -> None:
    """FERPlus against FER2013's labels: the agreement overall and per class, the crosstab, and FERPlus's
    class counts under plurality and majority labels."""
    if _skipped(plan, "ferplus"):
        return
    display(Markdown(audit.agreement_line(agree)))
    display(agree["per_class"].rename("agreement").to_frame().T.round(3))
    _figure(plots.crosstab(audit.crosstab_votes(data_dir), "FER2013 label (rows) vs FERPlus plurality (columns)"))
    display(audit.ferplus_counts(data_dir, plan))


def show_deepweeds(data_dir, plan: dict) -> None:
    """DeepWeeds: class counts of the first official fold (train, val, test) and the imbalance."""
    if _skipped(plan, "deepweeds"):
        return
    counts, line = audit.deepweeds_folds(data_dir, plan)
    display(counts.iloc[:, :3])
    display(Markdown(line))


def show_folders(folders: dict, plan: dict) -> None:
    """The ImageFolder sets (faces, plants): each split's size and balance, and the classes per split."""
    if _skipped(plan, "faces", "plants"):
        return
    display(audit.folder_summary(folders).set_index(["dataset", "split"]))
    _figure(plots.class_distributions(folders))


def sample_browser(fer: dict, folders: dict, n: int):
    """The sample browser over every split audited (a line instead when no image set was read)."""
    sets = audit.browsable(fer, folders)
    return widgets.sample_browser(sets, n=n) if sets else Markdown("No image set was read: nothing to browse.")


def data_checks(run, fer: dict, blank: list[int], agree: dict | None):
    """Judge the registry's data checks on what was audited (`Run.check`) and return their table (a line
    instead when neither FER2013 nor FERPlus was read)."""
    if fer:
        run.check("data.fer2013.blank_images", len(blank))
    if agree:
        run.check("data.ferplus.agreement", agree["agreement"])
    return claims_table(run.claims) if run.claims else Markdown(
        "No data check was judged: FER2013 and FERPlus were not read (above).")
