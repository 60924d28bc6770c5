"""JupyterHub's own page templates with nonce="{{ csp_nonce }}" on their inline <script> tags.

The hub's Content-Security-Policy (matchbox.hub.auth) runs no inline script without the nonce
of its response. JupyterHub's pages have a few inline scripts of their own (page.html's
window.jhdata, the spawn-pending progress, ...): this writes a copy of each such template, with
the nonce on those tags and nothing else changed, into a folder that c.JupyterHub.template_paths
lists after matchbox's own templates. It runs at image build (hub/Dockerfile) on the jupyterhub
that is installed, so the copies always match the pinned version and none is kept in this
repository.

    python -m matchbox.hub.csp_templates SOURCE_DIR TARGET_DIR
"""

import re
import sys
from pathlib import Path

# An inline script: a <script ...> tag with neither a src nor a nonce already.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)(?![^>]*\bnonce\s*=)([^>]*)>")
NONCE = ' nonce="{{ csp_nonce }}"'


def with_nonces(template):
    """The template's text with the nonce on every inline <script> tag; (text, tags changed)."""
    return INLINE_SCRIPT.subn(lambda tag: f"<script{tag.group(1)}{NONCE}>", template)


def main(source, target):
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(source).glob("*.html")):
        text, changed = with_nonces(path.read_text(encoding="utf-8"))
        if changed:
            (target / path.name).write_text(text, encoding="utf-8")
            print(f"{path.name}: {changed} inline script(s) given the CSP nonce")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    main(*sys.argv[1:])
