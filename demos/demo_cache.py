"""Cache-aside: the first read of a product misses and goes to Postgres, the second is
served from Redis; a write drops the entry, so the next read misses again."""

import sys

from common import Demo


def main() -> int:
    demo = Demo("cache-aside (Redis in front of Postgres)")
    product = demo.new_product()
    url = f"/products/{product['id']}"
    demo.say(f"Created product {product['id']} ({product['name']}).")
    _, first, _, first_ms = demo.call("GET", url)
    _, second, _, second_ms = demo.call("GET", url)
    demo.say(f"First read took {first_ms:.1f} ms ({first.get('x-cache')}), the second {second_ms:.1f} ms "
             f"({second.get('x-cache')}).")
    demo.check(first.get("x-cache") == "MISS", "the first read missed the cache and was loaded from Postgres")
    demo.check(second.get("x-cache") == "HIT", "the second read was served from Redis")
    demo.call("PUT", url, {"name": product["name"], "unit": "kg"})
    _, third, body, _ = demo.call("GET", url)
    demo.say(f"After changing the unit to kg, the next read was a {third.get('x-cache')} showing unit {body['unit']!r}.")
    demo.check(third.get("x-cache") == "MISS" and body["unit"] == "kg", "the write dropped the stale entry")
    return demo.finish()


if __name__ == "__main__":
    sys.exit(main())
