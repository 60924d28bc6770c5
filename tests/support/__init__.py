"""What the tests and benchmarks share: containers (Docker, the lab), the course (nbgrader, the
notebooks) and hubs (a compose hub, its REST and kernel client). Fixtures stay in conftest.py."""
