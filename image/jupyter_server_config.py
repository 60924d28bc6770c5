"""The participant's Jupyter server: listens on 8888, serves the work folder, auth always on."""

c = get_config()  # noqa: F821  (Jupyter provides it)
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
c.ServerApp.root_dir = "/home/jovyan/work"
# The password comes from $PASSWORD at every start (see start-lab); it is not changed from the UI.
c.PasswordIdentityProvider.allow_password_change = False
