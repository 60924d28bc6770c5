"""nbgrader as a participant sees it: the exchange a hub can share, for the assignment list."""

c = get_config()  # noqa: F821  (nbgrader provides it)
c.CourseDirectory.course_id = "matchbox"
c.Exchange.root = "/srv/nbgrader/exchange"
# Fetch into a folder the image already seeded: only missing files are copied, none overwritten.
c.ExchangeFetchAssignment.replace_missing_files = True
