"""The base viewsets every Custos API viewset derives from: scoping by construction.

What ``restrict()`` is called with (docs/api.md "Scoping"):

* every queryset the viewset serves -- list, detail, update, partial update, destroy and every
  ``@action`` that uses ``get_object()``/``get_queryset()`` -- is first narrowed with
  ``restrict(user, "view")``: an object the user may not see is 404 for reads *and* writes;
* then with ``restrict(user, <action>)`` where ``<action>`` is the request's role-matrix action
  (``core.permissions.action_for``: ``view`` for GET, ``add``/``change``/``delete`` for writes, an
  ``@action``'s ``permission_action`` such as ``decide``). ``RolePermission`` has already refused
  a user lacking that action with 403 before the queryset is built, so this second step only
  matters for views that run without it.

The restriction is applied in ``filter_queryset``, which DRF's ``list()`` and ``get_object()``
both call, *after* any ``get_queryset`` a subclass writes; a subclass that overrides
``filter_queryset`` is refused at class creation, and a queryset without ``restrict`` raises
``ImproperlyConfigured``.
"""

from __future__ import annotations

import inspect

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError

from core.permissions import VIEW, action_for


class RestrictedViewSetMixin:
    """Serve ``queryset`` (or ``selector(user=...)``), always through ``restrict``."""

    selector = None  # optional staticmethod(user=...) -> QuerySet

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "filter_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} overrides filter_queryset, which applies restrict(); override get_queryset")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # drf-spectacular builds the schema with an anonymous user: it only needs the model,
            # and a selector scoped by user must not run (PostgreSQL rejects AnonymousUser as an id)
            return self._fake_queryset()
        if self.selector is not None:
            return self.selector(user=self.request.user)
        return super().get_queryset()

    def _fake_queryset(self):
        model = getattr(getattr(self, "queryset", None), "model", None) or getattr(
            getattr(getattr(self, "serializer_class", None), "Meta", None), "model", None
        )
        if model is not None:
            return model._default_manager.none()
        if self.selector is not None:
            return self.selector(user=self.request.user).none()
        return super().get_queryset().none()

    def restrict_queryset(self, queryset):
        if not hasattr(queryset, "restrict"):
            raise ImproperlyConfigured(
                f"{type(self).__name__}: {queryset.model.__name__}'s queryset has no restrict(user, action)"
            )
        user = self.request.user
        queryset = queryset.restrict(user, VIEW)
        action = action_for(self.request, self)
        if action != VIEW:
            queryset = queryset.restrict(user, action)
        return queryset

    def filter_queryset(self, queryset):
        return super().filter_queryset(self.restrict_queryset(queryset))


class ServiceModelViewSet(RestrictedViewSetMixin):
    """Mixin for a ModelViewSet whose reads come from a selector and writes from services.

    Declare ``selector`` (``user=`` -> QuerySet), ``create_service`` (``actor=``, **fields),
    ``update_service`` and ``delete_service`` (``<instance_kwarg>=``, ``actor=``) as
    ``staticmethod``s. Every read is scoped (selector, then ``restrict``), every write audited and
    permission-checked by the service.
    """

    instance_kwarg: str = "instance"

    def perform_create(self, serializer):
        data = self._with_model_defaults(self.create_service, dict(serializer.validated_data))
        serializer.instance = self.create_service(actor=self.request.user, **data)

    def _with_model_defaults(self, service, data: dict) -> dict:
        """A keyword the service requires that the request left out (the serializer field is optional
        because the model has a default) gets the model's default; with none it is a 400 naming the
        field, never a ``TypeError`` 500 (issue 17: ``POST /policies`` without ``config``)."""
        model = getattr(getattr(self.get_serializer_class(), "Meta", None), "model", None)
        missing = {}
        for name, param in inspect.signature(service).parameters.items():
            if param.kind is not param.KEYWORD_ONLY or param.default is not param.empty:
                continue
            if name in data or name in ("actor", self.instance_kwarg):
                continue
            try:
                field = model._meta.get_field(name) if model is not None else None
            except FieldDoesNotExist:
                field = None
            if field is not None and field.has_default():
                data[name] = field.get_default()
            else:
                missing[name] = ["This field is required."]
        if missing:
            raise ValidationError(missing)
        return data

    def perform_update(self, serializer):
        serializer.instance = self.update_service(
            **{self.instance_kwarg: serializer.instance}, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        self.delete_service(**{self.instance_kwarg: instance}, actor=self.request.user)


class RestrictedReadOnlyModelViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """List + detail, both restricted."""


class RestrictedModelViewSet(RestrictedViewSetMixin, viewsets.ModelViewSet):
    """Full CRUD, restricted; writes still belong in services (use ``ServiceModelViewSet``)."""


class RestrictedGenericViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    """Pick the mixins you need (``mixins.ListModelMixin`` ...); scoping is already applied."""


__all__ = [
    "RestrictedViewSetMixin",
    "ServiceModelViewSet",
    "RestrictedReadOnlyModelViewSet",
    "RestrictedModelViewSet",
    "RestrictedGenericViewSet",
    "mixins",
]
