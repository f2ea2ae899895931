"""What the benchmark's cases say: categories and where they go, Chinese subjects made of parts, petitioners.

A subject is one of several hundred patterns ("{road}路燈不亮", "檢舉{place}違規停車") filled with
the case's district, real road and school names of 桃園 and house numbers, so that a word such
as 路燈 is found in a few percent of the cases, as in a real mailbox.
"""
from __future__ import annotations

import random

from generate_city import person_name

#: Categories of petitions and dispatch reports: (code, agency code or None for the district
#: office, unit code, weight among petitions, weight among dispatch reports). The first 19 are
#: workflows/seed/dispatch_categories.json; the rest are petition subjects of the other bureaus.
CATEGORIES = [
    ("road_pothole", "public_works", "roads", 6, 30), ("traffic_signal", "transport", "signals", 3, 9),
    ("dirty_spot", "environment", "cleaning", 4, 10), ("streetlight", None, "works", 1.5, 4),
    ("blocked_drain", "water", "drainage", 2, 5), ("road_flooding", "water", "drainage", 1.5, 3),
    ("fallen_tree", None, "works", 1, 3), ("sidewalk_damage", "public_works", "roads", 2, 4),
    ("manhole_cover", "public_works", "roads", 1, 3), ("guardrail", "public_works", "roads", 0.5, 1.5),
    ("road_marking", "transport", "signals", 1, 3), ("bus_stop", "transport", "transit", 1, 2),
    ("illegal_ads", "environment", "cleaning", 1, 3), ("abandoned_vehicle", "environment", "cleaning", 1.5, 4),
    ("dead_animal", "environment", "cleaning", 0.5, 2), ("stray_animal", "agriculture", "animals", 2, 3),
    ("noise", "environment", "pollution", 6, 2), ("illegal_parking", "police", "traffic", 8, 4),
    ("illegal_building", "public_works", "buildings", 3, 1),
    ("parking", "transport", "parking", 4, 0), ("traffic_enforcement", "police", "traffic", 4, 0),
    ("air_pollution", "environment", "pollution", 3, 0), ("land_survey", "land", "survey", 1.5, 0),
    ("social_welfare", "social", "welfare", 4, 0), ("school", "education", "schools", 3, 0),
    ("food_safety", "health", "food", 2, 0), ("medical", "health", "medical", 1.5, 0),
    ("fire_safety", "fire", "prevention", 1.5, 0), ("market", "economic", "markets", 1.5, 0),
    ("labor_dispute", "labor", "relations", 2, 0), ("culture", "culture", "arts", 1, 0),
    ("public_property", "finance", "property", 0.5, 0), ("hakka", "hakka", "affairs", 0.3, 0),
    ("other", "rdec", "petitions", 5, 0),
]

ROADS = ("中正路 中山路 復興路 民生路 民族路 成功路 介壽路 經國路 南平路 大興西路 春日路 延平路 環中東路 中華路 "
         "中央西路 新生路 元化路 中美路 龍岡路 金陵路 環南路 興豐路 和平路 大同路 建國路 忠孝路 仁愛路 信義路 "
         "自強路 文化一路 萬壽路 南崁路 中正北路 三民路 青埔路 高鐵南路 領航北路 梅獅路 楊新路 大湳路 介壽路二段 "
         "健行路 新興路 永安路 莊敬路 宏昌路 長春路 國際路 桃鶯路 大業路 同德六街 中埔六街 榮民路 環北路 "
         "龍東路 北園路 民富路 福德路 四維路 光明路 八德路 廣福路 中豐路 梅高路 大觀路 中福路").split()
LANDMARKS = ("火車站 傳統市場 公園 里民活動中心 停車場 夜市 圖書館 國民運動中心 捷運站 醫院 郵局 "
             "社區 大賣場 加油站 廟口 工業區 高鐵站 地下道 陸橋 溪畔 社福館 轉運站").split()
SCHOOLS = ("桃園國小 中壢國小 龜山國小 大溪國小 平鎮國中 八德國中 楊梅高中 龍潭國中 大園國際高中 觀音高中 "
           "新屋國小 蘆竹國中 內壢高中 武陵高中 中原大學 元智大學 長庚大學 中央大學 桃園高中 南崁國中").split()
STREET_ITEMS = ("水溝蓋 人孔蓋 消防栓 變電箱 電線桿 行道樹 候車亭 垃圾桶 路牌 反光鏡").split()

#: Subject patterns per category; {p} a place ("{d}區{r}123號前"), {r} a road, {r2} another, {s} a
#: school, {l} a landmark, {d} the district, {i} a street item, {n} a number.
PATTERNS = {
    "road_pothole": ["{p}路面坑洞請修補", "{r}路面坑洞多處", "{r}與{r2}口路面凹陷", "{p}柏油龜裂", "{d}{r}坑洞危險",
                     "{r}機車道坑洞", "{p}道路坑洞造成機車摔車", "{r}路面不平請刨鋪", "{s}前路面坑洞", "{l}旁道路破損",
                     "{r}施工後路面未復原", "{p}路面隆起", "{r}挖掘後回填下陷", "請儘速修補{r}坑洞"],
    "traffic_signal": ["{r}與{r2}口號誌故障", "{r}紅綠燈不亮", "{p}號誌閃黃燈", "{r}號誌桿傾斜", "{s}前行人號誌故障",
                       "{r}號誌秒數過短", "{r}與{r2}路口號誌時制不當", "{l}前紅綠燈被樹遮蔽", "{r}號誌燈頭歪斜",
                       "建議{r}與{r2}口增設號誌", "{p}號誌倒數器故障"],
    "dirty_spot": ["{p}垃圾堆積", "{r}空地髒亂", "{l}旁垃圾未清", "{p}路面油污", "{r}巷口廢棄家具", "{d}{l}環境髒亂",
                   "{p}有人亂丟垃圾", "{s}附近垃圾滿溢", "{r}空地雜草叢生", "{p}廚餘惡臭", "{r}橋下堆置廢棄物",
                   "{l}周邊菸蒂滿地"],
    "streetlight": ["{d}{r}路燈不亮", "{p}路燈故障", "{r}路燈閃爍", "{r}路燈白天未熄", "{s}附近路燈不亮",
                    "{l}旁路燈損壞", "{r}巷內路燈全暗", "{p}路燈燈桿傾斜", "請於{r}增設路燈", "{r}路燈照明不足",
                    "{d}區{l}路燈夜間不亮", "{r}與{r2}口路燈故障"],
    "blocked_drain": ["{p}水溝阻塞", "{r}側溝堵塞發臭", "{p}水溝蓋破損", "{r}排水溝淤積", "{l}旁溝蓋鬆動",
                      "{r}側溝孳生蚊蟲", "{s}前水溝阻塞", "請清疏{r}側溝"],
    "road_flooding": ["{p}道路積水", "{r}下雨即積水", "{r}與{r2}口積水不退", "{l}前積水嚴重", "{r}地下道積水",
                      "大雨後{p}淹水", "{s}前路面積水"],
    "fallen_tree": ["{p}路樹傾倒", "{r}路樹斷枝", "{r}行道樹遮蔽號誌", "{l}旁大樹傾斜", "颱風後{r}路樹倒塌",
                    "{s}前路樹枝葉過長", "請修剪{r}行道樹"],
    "sidewalk_damage": ["{p}人行道地磚破損", "{r}人行道高低差", "{r}人行道地磚鬆動", "{s}前人行道破損",
                        "{l}旁人行道不平", "{r}騎樓高低不平", "{r}人行道被樹根拱起"],
    "manhole_cover": ["{p}人孔蓋下陷", "{r}人孔蓋異音", "{r}人孔蓋破損", "{r}與{r2}口人孔蓋凸起", "{s}前人孔蓋鬆動"],
    "guardrail": ["{r}護欄損壞", "{p}防撞護欄撞毀", "{r}橋護欄鏽蝕", "{l}旁護欄傾倒"],
    "road_marking": ["{r}標線不清", "{r}與{r2}口斑馬線模糊", "{s}前標線磨損", "{r}停止線不清", "請重劃{r}標線",
                     "{p}禁止停車紅線不清"],
    "bus_stop": ["{p}公車站牌損壞", "{r}候車亭玻璃破裂", "{l}站候車亭座椅損壞", "{s}前站牌被移除",
                 "{r}公車站牌資訊錯誤", "請於{l}增設候車亭"],
    "illegal_ads": ["{p}違規廣告", "{r}電線桿張貼小廣告", "{l}旁違規旗幟", "{r}人行道立牌廣告", "{r}天橋懸掛布條"],
    "abandoned_vehicle": ["{p}廢棄車輛", "{r}廢棄機車占用車位", "{l}旁廢棄汽車", "{r}巷內廢棄車輛久未移置",
                          "{s}附近廢棄腳踏車"],
    "dead_animal": ["{p}動物屍體", "{r}路面有狗屍", "{r}快車道貓屍", "{l}旁死鳥多隻"],
    "stray_animal": ["{p}流浪犬聚集", "{s}附近流浪狗追人", "{l}流浪貓過多", "{r}有受傷犬隻", "{p}野狗咬傷路人",
                     "{d}{l}流浪狗吠叫擾人"],
    "noise": ["{s}附近噪音擾人", "{p}工地噪音", "{r}夜間施工噪音", "{l}旁卡拉OK噪音", "{p}改裝車噪音",
              "{r}工廠機械噪音", "{p}夜間營業噪音", "{d}{l}廣播音量過大", "{r}冷氣室外機噪音", "{p}深夜喧嘩",
              "檢舉{r}餐廳排風機噪音", "{l}附近宮廟鞭炮噪音"],
    "illegal_parking": ["檢舉{p}違規停車", "{r}人行道違停", "{r}騎樓違規停車", "{s}前紅線違停", "{l}前並排停車",
                        "{r}機車違停占用人行道", "{p}車輛長期占用道路", "{r}與{r2}口轉角違停", "{p}貨車違規停放",
                        "檢舉{r}消防栓前停車"],
    "illegal_building": ["{p}疑似違建", "{r}頂樓加蓋", "{r}占用公有地搭建", "{l}旁鐵皮屋違建", "檢舉{p}新增違建",
                         "{r}騎樓違規搭建"],
    "parking": ["{l}停車位不足", "{r}停車格規劃不當", "{l}停車場收費疑義", "請增設{r}機車停車格", "{r}路邊停車收費錯誤",
                "{s}附近停車困難"],
    "traffic_enforcement": ["{r}與{r2}口闖紅燈頻繁", "{r}超速嚴重請取締", "{s}前車速過快", "{p}砂石車超載",
                            "請於{r}加強交通稽查", "{r}逆向行駛頻繁", "{l}前違規迴轉"],
    "air_pollution": ["{p}空氣污染", "{r}工廠排放廢氣", "{l}附近燃燒廢棄物", "{p}異味擾人", "{r}餐廳油煙",
                      "{d}工業區夜間異味", "{p}露天燃燒"],
    "land_survey": ["{d}土地鑑界疑義", "{r}地籍圖與現況不符", "{d}重測結果異議", "{r}土地徵收補償疑問",
                    "{d}地價公告疑義"],
    "social_welfare": ["申請低收入戶資格疑問", "{d}獨居長者需要關懷", "身障補助申請進度", "{d}弱勢家庭急難救助",
                       "長照服務申請疑問", "育兒津貼發放疑問", "{d}老人送餐服務"],
    "school": ["{s}校園安全疑慮", "{s}營養午餐品質", "{s}上下學交通安全", "{s}學區劃分疑義", "{s}校舍老舊",
               "{s}課後照顧班收費", "{s}操場開放時間"],
    "food_safety": ["{p}餐廳衛生不佳", "{l}攤販食品衛生", "{r}早餐店食物中毒", "{p}過期食品販售", "{l}飲料店衛生疑慮"],
    "medical": ["{d}醫療院所收費疑義", "{l}藥局販售疑義", "{d}疫苗接種預約", "{p}診所醫療糾紛"],
    "fire_safety": ["{p}消防設備不足", "{r}防火巷堆放雜物", "{l}逃生通道阻塞", "{p}瓦斯桶存放危險", "{r}鐵皮屋火災隱憂"],
    "market": ["{l}市場攤位管理", "{d}市場環境髒亂", "{r}攤販占用道路", "{d}夜市攤商噪音", "{l}市場屋頂漏水"],
    "labor_dispute": ["{d}公司積欠工資", "資遣費爭議", "{d}工廠加班費未給", "勞保投保疑義", "{d}職場霸凌申訴",
                      "外籍移工權益問題"],
    "culture": ["{d}藝文中心活動", "{l}古蹟維護", "{d}藝術節場地", "{l}展覽開放時間"],
    "public_property": ["{d}公有地遭占用", "{r}市有房舍閒置", "{l}公有建物出租疑義"],
    "hakka": ["{d}客家文化活動", "客語認證考試疑問", "{d}客家文化館開放時間"],
    "other": ["建議{d}增設公共設施", "對市政建議", "{d}區政服務意見", "市府網站資訊錯誤", "{d}公車路線建議",
              "陳情案件辦理進度查詢", "感謝{d}區公所協助", "{l}設施使用建議"],
}
HOTLINE_PATTERNS = ["來電詢問{d}{l}開放時間", "來電反映{p}路燈不亮", "來電反映{p}道路坑洞", "來電詢問垃圾車時間",
                    "來電詢問{d}戶政事務所業務", "來電反映{r}交通號誌故障", "來電詢問育兒津貼", "來電反映{p}噪音",
                    "來電詢問{l}停車資訊", "來電反映{s}附近違規停車", "來電詢問牌照稅繳納", "來電反映{p}垃圾堆積"]
COUNCIL_PATTERNS = ["議員質詢：{d}{r}拓寬進度", "議員質詢：{s}周邊交通改善", "議員質詢：{d}{l}興建計畫",
                    "議會決議：{d}排水改善工程", "議員質詢：{r}路燈改善", "議員質詢：{d}長照據點設置",
                    "議會決議：{d}社會住宅規劃", "議員質詢：{l}停車場收費", "議員質詢：{d}流浪犬問題",
                    "議員質詢：{d}空氣品質監測"]
SITE_PATTERNS = ["{d}{r}會勘", "{p}排水改善會勘", "{s}通學步道會勘", "{d}{l}用地會勘", "{r}與{r2}口交通改善會勘",
                 "{d}路燈增設會勘", "{p}邊坡坍方會勘"]


def _place(rng: random.Random, district: str) -> str:
    kind = rng.random()
    if kind < 0.45:
        return f"{district}區{rng.choice(ROADS)}{rng.randint(1, 480)}號前"
    if kind < 0.7:
        return f"{rng.choice(ROADS)}與{rng.choice(ROADS)}交叉口"
    if kind < 0.85:
        return f"{district}{rng.choice(LANDMARKS)}"
    return f"{rng.choice(ROADS)}{rng.randint(1, 300)}巷{rng.choice(STREET_ITEMS)}旁"


def subject(rng: random.Random, case_type: str, category: str | None, district: str) -> str:
    """A subject as a citizen or an operator would write it, for the case's type and category."""
    if case_type == "hotline":
        pattern = rng.choice(HOTLINE_PATTERNS)
    elif case_type == "council_item":
        pattern = rng.choice(COUNCIL_PATTERNS)
    elif case_type == "site_inspection":
        pattern = rng.choice(SITE_PATTERNS)
    else:
        pattern = rng.choice(PATTERNS[category])
    road = rng.choice(ROADS)
    return pattern.format(p=_place(rng, district) if "{p}" in pattern else "", r=road, r2=rng.choice(ROADS),
                          s=rng.choice(SCHOOLS), l=rng.choice(LANDMARKS), d=district, i=rng.choice(STREET_ITEMS),
                          n=rng.randint(1, 99))


def pattern_count() -> int:
    """How many subject patterns there are (before the parts are filled in)."""
    return (sum(len(p) for p in PATTERNS.values()) + len(HOTLINE_PATTERNS) + len(COUNCIL_PATTERNS)
            + len(SITE_PATTERNS))


def petitioner(rng: random.Random, district: str) -> tuple:
    """(name, id_number, phone, email, address) of a made-up citizen; some leave fields empty."""
    name = person_name(rng)
    phone = (f"09{rng.randint(10, 99)}-{rng.randint(0, 999):03d}-{rng.randint(0, 999):03d}" if rng.random() < 0.8
             else f"03-{rng.randint(2000000, 4999999)}")
    email = f"user{rng.randint(1000, 9999999)}@example.tw" if rng.random() < 0.45 else None
    id_number = (f"H{rng.choice('12')}{rng.randint(0, 99999999):08d}" if rng.random() < 0.15 else None)
    address = f"桃園市{district}區{rng.choice(ROADS)}{rng.randint(1, 480)}號" if rng.random() < 0.5 else None
    return name, id_number, phone, email, address
