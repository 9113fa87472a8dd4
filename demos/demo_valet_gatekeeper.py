"""Gatekeeper and valet keys: no credential is refused; a valet token narrows its issuer's
rights to one recipe; revoking it takes effect at once; a share URL reads one recipe and a
tampered one is refused."""

import sys
import urllib.parse

from common import Demo


def main() -> int:
    demo = Demo("gatekeeper + valet keys")
    anonymous = {"x-api-key": ""}
    status, _, _, _ = demo.call("GET", "/recipes", headers=anonymous)
    demo.check(status == 401, f"a request without a credential is refused ({status})")
    status, _, _, _ = demo.call("GET", "/health", headers=anonymous)
    demo.check(status == 200, "GET /health stays public")

    _, _, recipe, _ = demo.call("POST", "/recipes", {"title": "Valet demo bread"})
    _, _, other, _ = demo.call("POST", "/recipes", {"title": "Valet demo soup"})
    status, _, valet, _ = demo.call("POST", "/valet/tokens", {"scopes": ["recipes:read"],
                                                             "resource": f"recipes/{recipe['id']}", "ttl_seconds": 120})
    demo.say(f"The admin key issued valet token {valet['id']} for recipes/{recipe['id']}, read only, "
             f"until {valet['expires_at']}.")
    bearer = {"x-api-key": "", "Authorization": f"Bearer {valet['token']}"}
    status, _, _, _ = demo.call("GET", f"/recipes/{recipe['id']}", headers=bearer)
    demo.check(status == 200, "the token reads its recipe")
    status, _, _, _ = demo.call("GET", f"/recipes/{other['id']}", headers=bearer)
    demo.check(status == 403, f"but not another recipe ({status})")
    status, _, _, _ = demo.call("PUT", f"/recipes/{recipe['id']}", {"title": "hijacked"}, headers=bearer)
    demo.check(status == 403, f"and cannot change it ({status})")
    status, _, _, _ = demo.call("POST", "/valet/tokens", {"scopes": ["admin"]}, headers=bearer)
    demo.check(status == 403, f"nor mint itself wider rights ({status})")

    demo.call("DELETE", f"/valet/tokens/{valet['id']}")
    status, _, _, _ = demo.call("GET", f"/recipes/{recipe['id']}", headers=bearer)
    demo.check(status == 403, f"once revoked it is refused at once ({status})")

    _, _, shared, _ = demo.call("POST", f"/recipes/{recipe['id']}/share")
    url = urllib.parse.urlsplit(shared["url"])
    demo.say(f"Share URL: {shared['url'][:90]}...")
    status, _, body, _ = demo.call("GET", f"{url.path}?{url.query}", headers=anonymous)
    demo.check(status == 200 and body["id"] == recipe["id"], "the share URL reads the recipe with no key")
    status, _, _, _ = demo.call("GET", f"/recipes/{other['id']}?{url.query}", headers=anonymous)
    demo.check(status == 403, f"the same signature on another recipe is refused ({status})")
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
