"""The grader's intake rules (src/matchbox/grader/intake.py): names, and rows that stay readable."""

from matchbox.grader import intake


def test_names_and_row_length():
    """The exchange takes the hub's names only, folders a little more; a flood of refusals stays
    one readable row; a name is printed without spaces or terminal escapes."""
    for name in ("ada", "a-b_9", "x" * 32):
        assert intake.name_problem(name, strict=True) is None, name
    for name in ("Ada", "a+b", "a b", "a/b", "..", "x" * 33, "\x1b[31m", "émile", ""):
        assert intake.name_problem(name, strict=True), name
    assert intake.name_problem("Ada.Lovelace@uni", strict=False) is None
    for name in ("a b", "a/b", "a..b", ".hidden", "a\tb", "a+b"):
        assert intake.name_problem(name, strict=False), name
    assert intake.shown("a b\x1b[31m") == "a\\x20b\\x1b[31m"
    notes = []
    for i in range(500):
        intake.note(notes, f"refused f{i}: a symbolic link (not followed)")
    assert len(notes) == intake.MAX_NOTES + 1 and notes[-1] == "and 490 more refused"
