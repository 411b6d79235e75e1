"""What every response carries: CSRF protection on forms and the security headers.

No inline script or style anywhere, nothing from another origin, never framed, and no Referer
header (a booth URL must never leak to another site).
"""

from __future__ import annotations

from flask import Response
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    # The booth and the checker read QR codes with the camera of this origin only.
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    return response
