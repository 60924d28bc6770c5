"""The room view (a JupyterHub service): who is where in the current assignments, who is stuck.
service.py serves it, progress.py reads a saved notebook, snapshot.py orders the room, render.py
shows one notebook read-only."""
