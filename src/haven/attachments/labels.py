"""What a cleaned copy left out, in words staff can read (the payload keeps short codes)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

REMOVED_LABELS = {
    # Images
    "exif": _("EXIF details (camera, times)"),
    "gps": _("GPS location"),
    "icc_profile": _("colour profile"),
    "comment": _("comments"),
    "text": _("text details (author, software, title)"),
    "frames": _("further frames"),
    # PDFs: what runs or calls out
    "javascript": _("JavaScript"),
    "launch": _("commands that start programs"),
    "uri": _("web addresses it would open"),
    "submit_form": _("forms that send to an address"),
    "import_data": _("data imported from other files"),
    "remote_goto": _("links to other files"),
    "media": _("sound, video, 3D and rich media"),
    "hide": _("actions that hide parts of pages"),
    "other_actions": _("other actions"),
    "open_action": _("an action on opening"),
    "actions": _("automatic actions (on opening pages, typing, printing…)"),
    "files": _("embedded files"),
    "xfa": _("an XFA form"),
    "external": _("content fetched from elsewhere"),
    # PDFs: what the rebuilt copy does not carry over
    "links": _("links"),
    "form_fields": _("form fields (their values are kept as shown)"),
    "annotations": _("comments and notes (what they show is kept)"),
    "bookmarks": _("bookmarks"),
    "thumbnails": _("page thumbnails"),
    # Both
    "docinfo": _("document details (author, program, dates)"),
    "xmp": _("XMP metadata"),
}


def removed_shown(removed: list[str], counts: dict[str, int]) -> list[str]:
    """``removed`` as words, with how many when more than one (``JavaScript (12)``)."""
    shown = []
    for code in removed:
        label = str(REMOVED_LABELS.get(code, code))
        count = int(counts.get(code, 1))
        shown.append(f"{label} ({count})" if count > 1 else label)
    return shown
