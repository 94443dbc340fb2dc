"""factory_boy factories for catalog objects. They write rows directly (test setup), which is
why tests that check auditing go through services instead."""

import factory

from accounts.choices import Role
from accounts.models import User
from catalog import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.VIEWER
    password = factory.django.Password("pw-for-tests-only")


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Domain

    name = factory.Sequence(lambda n: f"Domain {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Tag

    name = factory.Sequence(lambda n: f"tag-{n}")


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DataSource

    name = factory.Sequence(lambda n: f"source{n}")
    kind = "postgresql"
    namespace = factory.Sequence(lambda n: f"postgres://db{n}:5432")


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DataAsset

    source = factory.SubFactory(SourceFactory)
    qualified_name = factory.Sequence(lambda n: f"public.table_{n}")
    name = factory.LazyAttribute(lambda o: o.qualified_name.split(".")[-1])


class ColumnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Column

    asset = factory.SubFactory(AssetFactory)
    name = factory.Sequence(lambda n: f"col_{n}")
    position = factory.Sequence(int)
    data_type = "text"


class ClassificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Classification

    column = factory.SubFactory(ColumnFactory)
    entity_type = "EMAIL_ADDRESS"
    source = "scan"
    state = "suggested"
    confidence = 0.9


class MLModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.MLModel

    name = factory.Sequence(lambda n: f"model-{n}")


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ModelVersion

    model = factory.SubFactory(MLModelFactory)
    version = factory.Sequence(lambda n: f"1.{n}")
