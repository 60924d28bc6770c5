c = get_config()  # noqa: F821  (nbgrader provides it)
c.CourseDirectory.source_directory, c.CourseDirectory.release_directory = "solutions", "handson"
c.Execute.timeout = 300  # seconds per cell: training cells are long (nbgrader reads this, not ExecutePreprocessor)
