from django.db import migrations
from django.db.models import Count


def backfill(apps, schema_editor):
    ReviewItem = apps.get_model("reviewapp", "ReviewItem")
    ReviewCount = apps.get_model("reviewapp", "ReviewCount")
    rows = ReviewItem.objects.values("plan_id", "status").annotate(n=Count("pk"))
    ReviewCount.objects.bulk_create(
        [ReviewCount(plan_id=r["plan_id"], status=r["status"], n=r["n"]) for r in rows]
    )


class Migration(migrations.Migration):
    dependencies = [("reviewapp", "0006_review_counts")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
