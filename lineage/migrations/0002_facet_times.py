from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lineage", "0001_provenance_graph")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="facet_times",
            field=models.JSONField(blank=True, default=dict, help_text="Event time each facet was taken from (newest wins)."),
        ),
        migrations.AddField(model_name="run", name="facet_times", field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="datasetfacets", name="facet_times", field=models.JSONField(blank=True, default=dict)),
    ]
