"""What the image runs before Jupyter: start-lab (the participant's lab), start-singleuser
(under the hub), and the lab's login throttle."""
