"""Count each article's valid board signatures on its current version (Article.valid_signatures).

The rule is editorial.approval's: signatures meaning "medically accurate" on the current
version, by someone other than the author, whose invitation was completed and whose
competing interests were not ruled disqualifying.
"""

from collections import defaultdict

from django.db import migrations
from django.db.models import Count, F


def count(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    Signature = apps.get_model("reviewers", "Signature")
    counted = (
        Signature.objects.filter(
            version=F("article__current_version"),
            meaning="medically_accurate",
            review__invitation__status="completed",
            review__invitation__conflict_disqualifying=False,
        )
        .exclude(signer=F("article__author"))
        .values("article")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_count = defaultdict(list)
    for row in counted:
        by_count[row["n"]].append(row["article"])
    for n, articles in by_count.items():
        for start in range(0, len(articles), 5000):
            Article.objects.filter(pk__in=articles[start : start + 5000]).update(valid_signatures=n)


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0007_valid_signatures"),
        ("reviewers", "0003_worklist_indexes"),
        ("editorial", "0005_notificationpreference_notificationsettings_and_more"),
    ]

    operations = [migrations.RunPython(count, migrations.RunPython.noop)]
