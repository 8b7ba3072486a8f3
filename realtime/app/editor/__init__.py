"""The pose editor: a local web app to pose a person's photo by dragging joints (`repose editor`).

``create_app(options)`` builds the Flask app (page + JSON API); ``EditorService`` does the work
(estimate, render, evaluate, retarget) without any web framework. Flask is imported only by
``create_app``.
"""
from realtime.app.editor.service import EditorOptions, EditorService

__all__ = ["EditorOptions", "EditorService", "create_app"]


def create_app(*args, **kwargs):
    """See realtime.app.editor.app.create_app."""
    from realtime.app.editor.app import create_app as _create

    return _create(*args, **kwargs)
