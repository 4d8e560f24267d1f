"""The site's own middleware.

RequestSizeLimitMiddleware refuses request bodies over settings.MAX_REQUEST_BYTES before
anything reads them: Django streams file uploads to disk without a total limit; checking
Content-Length first means an oversized upload is answered with 413 without being parsed
or stored.

ContentSecurityPolicyMiddleware sends settings.CONTENT_SECURITY_POLICY with every response.

PageThrottleMiddleware bounds the server-rendered pages per client address
(THROTTLE_PAGES; the API has its own throttles, static files and the admin none here):
past the rate a page answers 429 with Retry-After instead of rendering.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from .services.errors import ErrorCode


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django itself refuses a malformed length when the body is read
        if length > limit:
            message = f"the request body of {length} bytes exceeds the limit of {limit} bytes"
            if request.path.startswith("/api/"):
                body = {"detail": message, "code": ErrorCode.REQUEST_TOO_LARGE}
                return JsonResponse(body, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class PageThrottleMiddleware:
    EXEMPT = ("/api/", "/static/", "/admin/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(self.EXEMPT):
            from .api.throttles import PageThrottle

            throttle = PageThrottle()
            if not throttle.allow_request(request, None):
                wait = throttle.wait()
                response = HttpResponse(
                    "Too many pages from your address; try again in a minute.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(max(1, int(wait or 1)))
                return response
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
