"""Case search at city scale on PostgreSQL: N cases of Chinese text, the list searched by the commission
and by one agency, p50/p95 per kind of search.

    .venv/bin/python bench/case_search.py --cases 1000000 --url postgresql://postgres@127.0.0.1:5432/postgres

Creates (and drops at the end, unless --keep) its own database beside the one named. Each text
holds three of 40 phrases of petitions (路燈不亮, 水溝阻塞...) among 90 random characters of 500
common ones, so a word like 路燈 is in about one case in seven, a phrase in one in fourteen, and a
random pair of characters in a few hundred cases per million.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

PHRASES = ["路燈不亮", "路燈故障", "路口燈號秒數太短", "路面坑洞", "水溝阻塞", "垃圾沒有清運", "公園樹木倒塌", "違規停車",
           "噪音擾鄰", "人行道破損", "號誌故障", "積水嚴重", "野狗聚集", "施工噪音", "廣告招牌掉落", "排水不良",
           "道路標線模糊", "公車誤點", "停車格不足", "空地雜草叢生", "電線桿傾斜", "下水道異味", "騎樓被占用", "天橋電梯故障",
           "學校周邊交通", "夜市攤販", "河川污染", "工廠排放廢氣", "房屋漏水", "行道樹修剪", "紅綠燈不亮", "機車違停",
           "公廁不潔", "路樹遮蔽號誌", "人孔蓋鬆動", "溝蓋破裂", "公園照明不足", "消防栓被擋", "資源回收", "補助申請"]

FILL = """
INSERT INTO cases (id, case_no, case_type, category, district, subject, description, status, agency_id,
                   received_at, created_at, updated_at)
SELECT g, 'P' || g, 'petition', 'cat' || mod(g, 19), 'd' || mod(g, 13), p.phrases[1 + mod(g * 7, 40)],
       '民眾反映' || p.phrases[1 + mod(g * 13, 40)] || '，地點在' || substr(p.filler, 1 + mod(g * 31, 9000), 30)
       || '附近，' || p.phrases[1 + mod(g * 17, 40)] || '，請儘速派員處理' || substr(p.filler, 1 + mod(g * 11, 9000), 60),
       CASE WHEN mod(g, 5) = 0 THEN 'open' ELSE 'closed' END, 2 + mod(g, 40), :now - g * interval '5 minutes',
       :now, :now
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) g, (SELECT :phrases ::text[] AS phrases, :filler ::text AS filler) p
"""

#: Common characters that make the rest of each text (none of the searches' words).
COMMON = ("的一是在不了有和人這中大為上個國我以要他時來用們生到作地於出就分對成會可主發年動同工也能下過子說產種面而方後多定行學"
          "法所民得經十三之進著等部度家電力裡如水化高自二理起小物現實加量都兩體制機當使點從業本去把性好應開它合還因由其些然前外天政"
          "四日那社義事平形相全表間樣與關各重新線內數正心反你明看原又麼利比或但質氣第向道命此變條只沒結解問意建月公無系軍很情者最立代"
          "想已通並提直題黨程展五果料象員革位入常文總次品式活設及管特件長求老頭基資邊流身級少圖山統接知較將組見計別她手角期根論運農指")

SEARCHES = {"two characters, common (路燈)": "路燈", "phrase (路燈不亮)": "路燈不亮", "phrase (消防栓被擋)": "消防栓被擋",
            "rare pair (的一)": "的一", "rare (山統接知)": "山統接知", "absent (颱風)": "颱風"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="leave the database for a second run")
    args = parser.parse_args(argv)

    from engine.accounts.identity import Principal
    from engine.bootstrap import bootstrap
    from engine.queries import CaseSearch, search_cases
    from engine.settings import Settings
    from engine.store import migrate

    name = f"petiflow_bench_search_{args.cases}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        fresh = not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if fresh:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    runtime = bootstrap(Settings(database_url=url, var_dir=Path("/tmp"), secret_key="bench"))
    try:
        if fresh:
            migrate.upgrade(runtime.db)
            now = datetime(2026, 11, 26, tzinfo=timezone.utc)
            filler = "".join(random.Random(1).choices(COMMON, k=9100))
            started = time.perf_counter()
            with runtime.db.begin() as conn:
                conn.execute(text("INSERT INTO agencies (id, code, name, kind) SELECT g, 'a' || g, 'agency ' || g, "
                                  "CASE WHEN g = 1 THEN 'commission' ELSE 'bureau' END FROM generate_series(1, 41) g"))
                for first in range(1, args.cases + 1, 100_000):
                    conn.execute(text(FILL), {"now": now, "first": first, "last": min(first + 99_999, args.cases),
                                              "phrases": PHRASES, "filler": filler})
            with runtime.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE cases"))
            print(f"{args.cases:,} cases filled and indexed in {time.perf_counter() - started:.0f} s")
        readers = {"the commission": Principal(1, "reviewer", frozenset({("reviewer", None)})),
                   "one agency": Principal(2, "caseworker", frozenset({("caseworker", 7)}))}
        for who, principal in readers.items():
            for label, searched in SEARCHES.items():
                times = []
                for _ in range(args.repeats):
                    with runtime.uow(read_only=True) as uow:
                        begun = time.perf_counter()
                        page = search_cases(uow, principal, CaseSearch(text=searched), limit=50)
                        times.append((time.perf_counter() - begun) * 1000)
                p95 = statistics.quantiles(times, n=20)[-1]
                print(f"{who:15} {label:32} {len(page.rows):3} rows  p50 {statistics.median(times):7.1f} ms"
                      f"  p95 {p95:7.1f} ms")
    finally:
        runtime.close()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
