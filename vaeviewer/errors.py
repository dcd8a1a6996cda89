"""The one exception type for mistakes a user can make (bad file, bad setting)."""


class VaeViewerError(Exception):
    """A user-facing error: the message names the file or setting and what to do.

    The CLI prints it on one line and exits with status 2; the GUI shows it in a dialog.
    Anything that is not a VaeViewerError is a bug in vaeviewer.
    """
