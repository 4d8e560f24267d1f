"""GET /api/verifier/health/ (staff only): the same report as `manage.py verifier_health`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors


class HealthView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses={200: dict}, summary="Verification queue and worker health")
    def get(self, request):
        return Response(selectors.health())
