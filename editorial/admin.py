"""The admin's autodiscovery imports ``<app>.admin``: the workspace registers its pages here.

Each module registers the model admins of one concern (``editorial/workspace/``).
"""

from editorial.workspace import (  # noqa: F401 - imported to register them
    accounts,
    articles,
    board,
    questions,
    records,
    security,
)
