"""What every part of the site shares, in a module of its own so the parts never import
their package back: the site's error and the folders of its own pages."""

REPORT_DIR = "report"
CHANGES_DIR = "changes"


class SiteError(RuntimeError):
    """The site cannot be built or shown: one line for the user."""
