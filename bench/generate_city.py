"""The organisation of the benchmark city (桃園市): 30 agencies, their units, 2,000 staff and their groups.

The shape follows workflows/seed/organisation.json and engine/services/demo.py: a group is a role
held in an agency ("caseworker@public_works"); the commission's central roles (dispatchers,
reviewers, operators, council liaisons, administrators, process designers) are held for every
agency (a group without an agency, "dispatcher@central").
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

#: The 13 districts and their share of the city's population (2023, rounded), which their cases follow.
DISTRICTS = {"桃園": 19.6, "中壢": 18.5, "平鎮": 10.2, "八德": 9.5, "楊梅": 7.6, "蘆竹": 7.4, "龜山": 7.4,
             "龍潭": 5.5, "大溪": 4.0, "大園": 4.3, "觀音": 3.1, "新屋": 2.2, "復興": 0.5}

#: District offices by district, with the codes organisation.json gives them.
DISTRICT_OFFICES = {"桃園": "district_taoyuan", "中壢": "district_zhongli", "平鎮": "district_pingzhen",
                    "八德": "district_bade", "楊梅": "district_yangmei", "蘆竹": "district_luzhu",
                    "大溪": "district_daxi", "龜山": "district_guishan", "大園": "district_dayuan",
                    "觀音": "district_guanyin", "新屋": "district_xinwu", "龍潭": "district_longtan",
                    "復興": "district_fuxing"}

#: (code, name, kind, units [(code, name)], caseworkers): the codes of organisation.json where it has
#: the agency, so the routing tables (workflows/routing.dmn) name the same agencies.
AGENCIES = [
    ("rdec", "研究發展考核委員會", "commission",
     [("petitions", "陳情管考科"), ("council", "議會聯絡科"), ("planning", "綜合計畫科")], 0),
    ("public_works", "工務局", "bureau",
     [("roads", "養護工程科"), ("buildings", "建築管理科"), ("lights", "公園路燈科"), ("engineering", "新建工程科")], 300),
    ("transport", "交通局", "bureau",
     [("signals", "交通工程科"), ("parking", "停車管理科"), ("transit", "公共運輸科")], 170),
    ("environment", "環境保護局", "bureau",
     [("cleaning", "環境清潔科"), ("pollution", "空氣噪音防制科"), ("waste", "廢棄物管理科")], 190),
    ("water", "水務局", "bureau", [("drainage", "雨水下水道科"), ("sewer", "污水下水道科")], 70),
    ("land", "地政局", "bureau", [("survey", "地籍測量科"), ("registration", "地權科")], 35),
    ("social", "社會局", "bureau", [("welfare", "社會救助科"), ("elderly", "老人福利科")], 60),
    ("police", "警察局", "bureau", [("traffic", "交通警察大隊"), ("admin", "行政科")], 110),
    ("agriculture", "農業局", "bureau", [("animals", "動物保護科"), ("farming", "農務科")], 40),
    ("education", "教育局", "bureau", [("schools", "國小教育科"), ("secondary", "中等教育科")], 45),
    ("health", "衛生局", "bureau", [("food", "食品管理科"), ("medical", "醫事管理科")], 45),
    ("fire", "消防局", "bureau", [("prevention", "火災預防科")], 25),
    ("economic", "經濟發展局", "bureau", [("commerce", "商業科"), ("markets", "市場管理科")], 30),
    ("culture", "文化局", "bureau", [("arts", "表演藝術科")], 15),
    ("labor", "勞動局", "bureau", [("relations", "勞資關係科")], 25),
    ("finance", "財政局", "bureau", [("property", "公產管理科")], 12),
    ("hakka", "客家事務局", "bureau", [("affairs", "文化推廣科")], 8),
    *[(code, f"{district}區公所", "district_office",
       [("works", "工務課"), ("civil", "民政課"), ("social", "社會課")], 0)
      for district, code in DISTRICT_OFFICES.items()],
]

#: Roles held for every agency (groups without an agency) and how many hold each, all at the commission.
CENTRAL = {"dispatcher": 24, "reviewer": 16, "operator": 70, "council_liaison": 8, "admin": 2,
           "process_designer": 2}

#: Each bureau's agency liaisons (council items), and every agency's one head.
LIAISONS_PER_BUREAU = 2

#: Characters of the staff's and petitioners' made-up names.
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高潘簡朱鍾游彭詹胡施沈余盧梁趙顏柯翁魏孫戴范方宋鄧"
GIVEN = "志明俊傑家豪建宏冠宇怡君淑芬雅婷美玲佳穎宗翰承恩柏翰思妤欣怡宜蓁子涵冠廷哲瑋詩涵惠雯文彬國華秀英麗華明德正雄"


def person_name(rng: random.Random) -> str:
    """A plausible Taiwanese name: a surname and two given characters."""
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


@dataclass
class StaffPlan:
    """Who the generator makes: one row per account, with the (role, agency code or None) it holds."""

    accounts: list = field(default_factory=list)  # (username, display name, agency code, unit code, [(role, agency)])


def plan_staff(total: int, rng: random.Random) -> StaffPlan:
    """`total` accounts: the central roles, each agency's head, section chiefs and liaisons, and the
    rest caseworkers shared among the agencies by their weight (district offices by population)."""
    plan = StaffPlan()
    add = lambda username, agency, unit, roles: plan.accounts.append(  # noqa: E731
        (username, person_name(rng), agency, unit, roles))
    for role, count in CENTRAL.items():
        unit = "council" if role == "council_liaison" else "petitions"
        for i in range(1, count + 1):
            add(f"{role}.{i:03d}", "rdec", unit, [(role, None)])
    for code, _name, kind, units, _weight in AGENCIES:
        add(f"head.{code}", code, units[0][0], [("agency_head", code)])
        for unit, _ in units:
            add(f"chief.{code}.{unit}", code, unit, [("supervisor", code)])
        if kind == "bureau":
            for i in range(1, LIAISONS_PER_BUREAU + 1):
                add(f"liaison.{code}.{i}", code, units[0][0], [("agency_liaison", code)])
    weights = {code: weight for code, _n, _k, _u, weight in AGENCIES if weight}
    # A district office: about 6 caseworkers for each percent of the city's people.
    weights.update({DISTRICT_OFFICES[d]: 6 * share for d, share in DISTRICTS.items()})
    left = max(total - len(plan.accounts), len(weights))
    scale = left / (sum(weights.values()) or 1)
    counts = {code: max(1, int(w * scale)) for code, w in weights.items()}
    biggest = max(counts, key=counts.get)
    counts[biggest] += left - sum(counts.values())  # the rounding goes to the biggest agency
    units_of = {code: [u for u, _ in units] for code, _n, _k, units, _w in AGENCIES}
    for code, count in counts.items():
        for i in range(1, count + 1):
            unit = units_of[code][(i - 1) % len(units_of[code])]
            add(f"cw.{code}.{i:03d}", code, unit, [("caseworker", code)])
    return plan
