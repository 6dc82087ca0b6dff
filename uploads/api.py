"""The upload's JSON API, for editors and staff: the history, one job (with its live progress), the
preview with a mapping, start, cancel, and the validation report as CSV. The file itself goes up
through the tus route (uploads/tus.py)."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import EditAccess, user_can_edit
from core.api import ERROR_RESPONSE
from uploads import reading, selectors, services, tasks
from uploads.models import UploadJob


class UploadAccess(BasePermission):
    """Editors and staff only, reads included: the history names files and people."""

    message = EditAccess.message

    def has_permission(self, request, view) -> bool:
        return user_can_edit(user=request.user)


class Refused(APIException):
    def __init__(self, refused: services.UploadRefused) -> None:
        super().__init__(refused.message)
        self.status_code = refused.status


class CompanionSerializer(serializers.ModelSerializer):
    key = serializers.CharField(source="stored_name")

    class Meta:
        model = UploadJob
        fields = ["key", "filename", "kind", "size"]


class UploadJobSerializer(serializers.ModelSerializer):
    key = serializers.CharField(source="stored_name")
    companions = CompanionSerializer(many=True, read_only=True)
    user = serializers.CharField(source="user.get_username", default=None)
    status_label = serializers.CharField(source="get_status_display")
    problems = serializers.SerializerMethodField()

    class Meta:
        model = UploadJob
        fields = [
            "key",
            "user",
            "filename",
            "size",
            "received",
            "status",
            "status_label",
            "kind",
            "companions",
            "mode",
            "dry_run",
            "columns",
            "layout",
            "rows",
            "seconds",
            "created_at",
            "uploaded_at",
            "started_at",
            "finished_at",
            "error",
            "problems",
            "problem_total",
            "file_deleted",
            "expired_at",
        ]

    def get_problems(self, job: UploadJob) -> list[dict]:
        return job.problems[: selectors.REPORT_SHOWN]


class MappingSerializer(serializers.Serializer):
    columns = serializers.DictField(
        child=serializers.ChoiceField(choices=[*reading.ROLES, ""]), required=False, default=dict
    )
    # What the file is; absent: the kind found when it arrived.
    kind = serializers.ChoiceField(choices=UploadJob.Kind.values, required=False)


class StartSerializer(MappingSerializer):
    mode = serializers.ChoiceField(choices=UploadJob.Mode.values, default=UploadJob.Mode.REPLACE)
    dry_run = serializers.BooleanField(default=False)
    # The other uploaded files that go with this one's load (a calendar, stores, items): key -> kind.
    files = serializers.DictField(child=serializers.ChoiceField(choices=UploadJob.Kind.values), default=dict)


# Every route: a reader who is not an editor gets a 403, an unknown key a 404; writes may be refused with the
# reason (400 bad mapping, 409 wrong state, 413 too large, 422 unreadable file, 507 no disk).
READ_ERRORS = {403: ERROR_RESPONSE, 404: ERROR_RESPONSE}
WRITE_ERRORS = {400: ERROR_RESPONSE, 409: ERROR_RESPONSE, 413: ERROR_RESPONSE, 422: ERROR_RESPONSE, 507: ERROR_RESPONSE}


def _job(request, key: str) -> UploadJob:
    services.upload_jobs_reap()
    job = selectors.upload_job_get(user=request.user, key=key)
    if job is None:
        raise NotFound("no such upload")
    return job


def _job_answer(job: UploadJob) -> dict:
    return {**UploadJobSerializer(job).data, "progress": selectors.upload_job_progress(job=job)}


class UploadListView(APIView):
    permission_classes = [UploadAccess]
    parser_classes = [JSONParser]  # the page sends JSON; the file itself goes up through tus

    @extend_schema(responses={200: UploadJobSerializer(many=True), 403: ERROR_RESPONSE})
    def get(self, request):
        services.upload_jobs_reap()
        return Response(
            {"results": UploadJobSerializer(selectors.upload_jobs_recent(user=request.user), many=True).data}
        )


class UploadDetailView(APIView):
    permission_classes = [UploadAccess]
    parser_classes = [JSONParser]  # the page sends JSON; the file itself goes up through tus

    @extend_schema(responses={200: UploadJobSerializer, **READ_ERRORS})
    def get(self, request, key: str):
        return Response(_job_answer(_job(request, key)))


class UploadPreviewView(APIView):
    """The first rows, the layout and a role and type per column, with the mapping sent applied."""

    permission_classes = [UploadAccess]
    parser_classes = [JSONParser]  # the page sends JSON; the file itself goes up through tus

    @extend_schema(request=MappingSerializer, responses={200: OpenApiTypes.OBJECT, **READ_ERRORS, **WRITE_ERRORS})
    def post(self, request, key: str):
        mapping = MappingSerializer(data=request.data)
        mapping.is_valid(raise_exception=True)
        try:
            preview = services.upload_preview(job=_job(request, key), **mapping.validated_data)
        except services.UploadRefused as refused:
            raise Refused(refused) from None
        return Response(preview.as_dict())


class UploadStartView(APIView):
    permission_classes = [UploadAccess]
    parser_classes = [JSONParser]  # the page sends JSON; the file itself goes up through tus

    @extend_schema(request=StartSerializer, responses={202: UploadJobSerializer, **READ_ERRORS, **WRITE_ERRORS})
    def post(self, request, key: str):
        mapping = StartSerializer(data=request.data)
        mapping.is_valid(raise_exception=True)
        options = dict(mapping.validated_data)
        companions = [(_job(request, other), kind) for other, kind in options.pop("files").items()]
        options.setdefault("kind", UploadJob.Kind.SALES)
        try:
            job = services.upload_job_submit(job=_job(request, key), companions=companions, **options)
        except services.UploadRefused as refused:
            raise Refused(refused) from None
        tasks.upload_load_enqueue(job_id=job.pk)
        return Response(_job_answer(job), status=202)


class UploadCancelView(APIView):
    permission_classes = [UploadAccess]
    parser_classes = [JSONParser]  # the page sends JSON; the file itself goes up through tus

    @extend_schema(request=None, responses={202: UploadJobSerializer, **READ_ERRORS, **WRITE_ERRORS})
    def post(self, request, key: str):
        try:
            job = services.upload_job_cancel(job=_job(request, key))
        except services.UploadRefused as refused:
            raise Refused(refused) from None
        return Response(_job_answer(job), status=202)


class UploadReportView(APIView):
    """The whole validation report as CSV: line, column, value, reason (every problem up to
    UPLOAD_REPORT_MAX_PROBLEMS, then a row counting the rest)."""

    permission_classes = [UploadAccess]
    parser_classes = [JSONParser]  # the page sends JSON; the file itself goes up through tus

    @extend_schema(responses={(200, "text/csv"): str, **READ_ERRORS})
    def get(self, request, key: str):
        job = _job(request, key)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["line", "column", "value", "reason"])
        for problem in job.problems:
            writer.writerow(
                [problem["line"] or "", problem["column"] or "", _cell(problem["value"]), problem["message"]]
            )
        rest = job.problem_total - len(job.problems)
        if rest > 0:
            writer.writerow(["", "", "", f"{rest:,} more problem(s) not listed (UPLOAD_REPORT_MAX_PROBLEMS)"])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="upload-{job.pk}-report.csv"'
        return response


def _cell(value: str | None) -> str:
    # A spreadsheet must not run a value from someone's file as a formula.
    text = value or ""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
