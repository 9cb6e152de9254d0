"""The two roles, and the agency aliases the seed plans need (spellings of one agency)."""

from django.db import migrations

ALIASES = {
    "区发展改革委": ["区发改委", "区发展和改革委员会"],
    "市发展改革委": ["市发改委", "市发展和改革委员会"],
    "区经济信息化局": ["区经济和信息化局", "区经信局"],
    "区住房城乡建设委": ["区住建委", "区住房和城乡建设委员会"],
    "市规划自然资源委": ["市规自委"],
    "市规划自然资源委昌平分局": ["市规自委昌平分局"],
    "区机关事务管理服务中心": ["区机关事务管理中心"],
}


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("reviewer", "admin"):
        Group.objects.get_or_create(name=name)
    Agency = apps.get_model("reviewapp", "Agency")
    AgencyAlias = apps.get_model("reviewapp", "AgencyAlias")
    for canonical, aliases in ALIASES.items():
        agency, _ = Agency.objects.get_or_create(name=canonical)
        for alias in aliases:
            AgencyAlias.objects.get_or_create(alias=alias, defaults={"agency": agency})


class Migration(migrations.Migration):
    dependencies = [
        ("reviewapp", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
