"""Plans know the year of an annual plan; plans imported before learn it from their text."""

from django.db import migrations, models


def _backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from reviewapp.importing.metadata import extract_metadata

    Plan = apps.get_model("reviewapp", "Plan")
    for plan in Plan.objects.only("id", "cleaned_text").iterator():
        year = extract_metadata(plan.cleaned_text.split("\n")).plan_year
        if year is not None:
            Plan.objects.filter(pk=plan.pk).update(plan_year=year)


class Migration(migrations.Migration):
    dependencies = [
        ("reviewapp", "0007_backfill_review_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="plan_year",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(_backfill, migrations.RunPython.noop),
    ]
