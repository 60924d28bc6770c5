"""matchbox's JupyterHub pieces, installed into the hub image (hub/Dockerfile): the settings
(settings.py, every MATCHBOX_HUB_* variable), the container's start step (start.py), the
exchange's layout (exchange.py), accounts (auth.py), the spawner and its size-capped volumes
(spawner.py, disks.py), the grading sandbox service; hub/jupyterhub_config.py wires them up."""
