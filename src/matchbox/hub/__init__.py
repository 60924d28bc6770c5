"""matchbox's JupyterHub pieces, installed into the hub image (hub/Dockerfile) and loaded by
hub/jupyterhub_config.py."""
