"""Raw material for the demo organisation: names, places, brokers, accounts. All invented.

Names are North Korean in form: Hangul with the North's initial ㄹ (리, 류, 림, 량, 로) and
romanized in the spellings one meets in practice - McCune-Reischauer as the North writes it
(Ri Yong-chol, Choe Un-jong), Revised Romanization (I Yeong-cheol, Choe Eun-jeong) and the
South's everyday forms (Lee, Park, Choi).
"""

from __future__ import annotations

# (hangul, North Korean / McCune-Reischauer, Revised Romanization, South Korean everyday)
SURNAMES: list[tuple[str, str, str, str]] = [
    ("김", "Kim", "Gim", "Kim"),
    ("리", "Ri", "I", "Lee"),
    ("박", "Pak", "Bak", "Park"),
    ("최", "Choe", "Choe", "Choi"),
    ("정", "Jong", "Jeong", "Jung"),
    ("강", "Kang", "Gang", "Kang"),
    ("조", "Jo", "Jo", "Cho"),
    ("윤", "Yun", "Yun", "Yoon"),
    ("장", "Jang", "Jang", "Chang"),
    ("림", "Rim", "Im", "Lim"),
    ("한", "Han", "Han", "Han"),
    ("오", "O", "O", "Oh"),
    ("서", "So", "Seo", "Seo"),
    ("신", "Sin", "Sin", "Shin"),
    ("황", "Hwang", "Hwang", "Hwang"),
    ("안", "An", "An", "Ahn"),
    ("송", "Song", "Song", "Song"),
    ("류", "Ryu", "Yu", "Yoo"),
    ("전", "Jon", "Jeon", "Jeon"),
    ("홍", "Hong", "Hong", "Hong"),
    ("고", "Ko", "Go", "Ko"),
    ("문", "Mun", "Mun", "Moon"),
    ("량", "Ryang", "Yang", "Yang"),
    ("로", "Ro", "No", "Roh"),
    ("계", "Kye", "Gye", "Kye"),
    ("방", "Pang", "Bang", "Bang"),
]

# (hangul, McCune-Reischauer as written in the North, Revised Romanization)
GIVEN_FEMALE: list[tuple[str, str, str]] = [
    ("은정", "Un-jong", "Eun-jeong"),
    ("명희", "Myong-hui", "Myeong-hui"),
    ("금순", "Kum-sun", "Geum-sun"),
    ("경애", "Kyong-ae", "Gyeong-ae"),
    ("순옥", "Sun-ok", "Sun-ok"),
    ("향미", "Hyang-mi", "Hyang-mi"),
    ("옥별", "Ok-byol", "Ok-byeol"),
    ("설향", "Sol-hyang", "Seol-hyang"),
    ("은심", "Un-sim", "Eun-sim"),
    ("련희", "Ryon-hui", "Yeon-hui"),
    ("류경", "Ryu-gyong", "Yu-gyeong"),
    ("진주", "Jin-ju", "Jin-ju"),
    ("성희", "Song-hui", "Seong-hui"),
    ("혜영", "Hye-yong", "Hye-yeong"),
    ("은하", "Un-ha", "Eun-ha"),
    ("봄순", "Pom-sun", "Bom-sun"),
    ("금향", "Kum-hyang", "Geum-hyang"),
    ("정심", "Jong-sim", "Jeong-sim"),
    ("미향", "Mi-hyang", "Mi-hyang"),
    ("옥희", "Ok-hui", "Ok-hui"),
    ("선희", "Son-hui", "Seon-hui"),
    ("로라", "Ro-ra", "No-ra"),
]
GIVEN_MALE: list[tuple[str, str, str]] = [
    ("영철", "Yong-chol", "Yeong-cheol"),
    ("성남", "Song-nam", "Seong-nam"),
    ("철민", "Chol-min", "Cheol-min"),
    ("정호", "Jong-ho", "Jeong-ho"),
    ("광혁", "Kwang-hyok", "Gwang-hyeok"),
    ("혁", "Hyok", "Hyeok"),
    ("명철", "Myong-chol", "Myeong-cheol"),
    ("영호", "Yong-ho", "Yeong-ho"),
    ("룡남", "Ryong-nam", "Yong-nam"),
    ("국철", "Kuk-chol", "Guk-cheol"),
    ("학수", "Hak-su", "Hak-su"),
    ("일성", "Il-song", "Il-seong"),
    ("충혁", "Chung-hyok", "Chung-hyeok"),
    ("동일", "Tong-il", "Dong-il"),
    ("창호", "Chang-ho", "Chang-ho"),
    ("금룡", "Kum-ryong", "Geum-yong"),
    ("진혁", "Jin-hyok", "Jin-hyeok"),
    ("경수", "Kyong-su", "Gyeong-su"),
]

# Names given at work in China, or code names a broker uses.
CHINESE_ALIASES = [
    "Jin Meihua",
    "Li Hong",
    "Piao Xiuying",
    "Cui Lan",
    "Zhang Wei",
    "Li Ming",
    "Jin Hua",
    "Pu Chunhua",
    "Zheng Yu",
    "Han Xue",
]
CODE_NAMES = ["Magnolia", "Swallow", "Blue 3", "Pine", "Auntie", "the accountant", "Little Sister"]

ORIGIN_REGIONS = [
    "Pyongyang",
    "Sinuiju",
    "Hyesan",
    "Chongjin",
    "Hamhung",
    "Wonsan",
    "Kaesong",
    "Nampo",
    "Haeju",
    "Kanggye",
    "Musan",
    "Hoeryong",
    "Sariwon",
    "Rason",
]

# Where North Korean workers are posted in China (coarse region, for the event payload).
WORKPLACES_CN = [
    "Shenyang",
    "Dandong",
    "Yanji",
    "Dalian",
    "Beijing",
    "Tumen",
    "Hunchun",
    "Qingdao",
    "Ningbo",
    "Taiyuan, Shanxi",
    "Changchun",
]
TRANSIT = [
    ("CN", "Kunming, Yunnan"),
    ("CN", "Mengla, Yunnan"),
    ("LA", "Luang Namtha"),
    ("LA", "Vientiane"),
    ("LA", "Bokeo"),
    ("VN", "Lao Cai"),
    ("VN", "Hanoi"),
]
THIRD_COUNTRY = [("TH", "Chiang Rai"), ("TH", "Chiang Saen"), ("TH", "Bangkok")]
KOREA = [("KR", "Seoul"), ("KR", "Incheon"), ("KR", "Anseong")]
EXACT_PLACES = [
    "Back room above the noodle shop by the bus station",
    "Guesthouse, room 12, second floor",
    "Church annex; ask for the deacon",
    "Farm shed 2 km east of the river crossing",
    "버스터미널 근처 여관 3층",
    "교회 부속 건물, 집사님께 연락",
    "Immigration detention centre, Suan Phlu",
    "Apartment of the broker's cousin, 7th floor",
]

# (alias, region, contact, fee notes, warnings)
BROKERS: list[tuple[str, str, str, str, str]] = [
    (
        "장 선생 (Teacher Jang)",
        "Shenyang",
        "Signal, number changes monthly; ask via the church in Tiexi",
        "USD 8,000 per person to Laos; half up front",
        "",
    ),
    (
        "옌지 아주머니 (Auntie from Yanji)",
        "Yanji",
        "Phone via her nephew; Korean only",
        "CNY 30,000 per person to Kunming",
        "",
    ),
    (
        "Mr Park / 박 사장",
        "Dandong",
        "WeChat (second account), mornings only",
        "USD 12,000 for trader families; negotiable for groups",
        "Asked for full payment in advance twice (2023). Verify every claim of departure.",
    ),
    (
        "쿤밍 형님 (Big Brother Kunming)",
        "Kunming",
        "Telegram",
        "USD 3,000 per person Kunming to the Mekong",
        "",
    ),
    (
        "The Pastor",
        "Qingdao",
        "Through the mission office in Seoul",
        "No fee; costs only",
        "",
    ),
    (
        "소 씨 (Mr So)",
        "Tumen",
        "Voice calls only, after 22:00",
        "CNY 20,000 per person",
        "One group he brought was caught in Tumen in 2024; reason unclear. Double-check routes.",
    ),
    (
        "Mekong Li",
        "Mengla",
        "Signal",
        "USD 2,500 river crossing, per person",
        "",
    ),
    (
        "닝보 연락책 (Ningbo contact)",
        "Ningbo",
        "Through the restaurant's supplier",
        "Paid by the group itself",
        "",
    ),
    (
        "Ms Choi",
        "Beijing",
        "Email (ProtonMail), answers within a day",
        "USD 10,000 per person, documents included",
        "",
    ),
    (
        "Hanoi Kim",
        "Hanoi",
        "WhatsApp",
        "USD 4,000 Vietnam leg",
        "Claimed two people arrived who had not left Hanoi. Treat reports as unverified.",
    ),
    (
        "다롄 친구 (Friend in Dalian)",
        "Dalian",
        "KakaoTalk (relative in Seoul relays)",
        "Unknown; says no fee",
        "",
    ),
    (
        "Chiang Rai guide",
        "Chiang Rai",
        "Phone; Thai and some Korean",
        "THB 20,000 per person to the police station",
        "",
    ),
]
SUSPENDED_BROKER = "Hanoi Kim"

PARTNERS: list[tuple[str, str]] = [
    ("Ministry of Unification", "KR"),
    ("National Intelligence Service (liaison desk)", "KR"),
    ("UN refugee agency liaison office, Bangkok", "TH"),
    ("Hanawon settlement support centre", "KR"),
]

ACCOUNTS_KO = [
    "저는 {city}의 식당에서 일하는 종업원입니다. 송금 압박이 너무 심해져서 더 이상 버틸 수 "
    "없습니다. 한국으로 가고 싶습니다. 도와주세요.",
    "{city}에서 무역 일을 하고 있습니다. 올해 계획을 채우지 못하면 소환된다고 합니다. "
    "가족은 평양에 있습니다. 조용히 도와주실 수 있습니까?",
    "우리는 {n}명입니다. 모두 같은 식당에서 일합니다. 감시가 심해서 밤에만 연락할 수 있습니다.",
    "브로커를 통해 연락드립니다. {city} 공장에서 일하는데 여권을 빼앗겼습니다. 한국에 가고 "
    "싶습니다.",
    "당 대회를 앞두고 외화 과제가 두 배가 되었습니다. 돌아가면 처벌받을 것 같습니다.",
]
ACCOUNTS_EN = [
    "Relayed by the broker: {n} worker(s) at a restaurant in {city} want to leave. The quota of "
    "foreign currency to send home has doubled; they ask for help within two weeks.",
    "A trader posted in {city} called the direct line twice. He says he was told he will be "
    "recalled for 'review' next month and fears what that means. Family in Sinuiju.",
    "Caller from {city} (woman, 30s) asks how to reach Thailand. Speaks quickly; calls from a "
    "borrowed phone. Wants to know whether her daughter can follow later.",
    "The broker reports a group of {n} from {city}: passports held by the manager, one of them "
    "unwell. Says they can leave on a day off.",
    "Direct line message: 'We saw the news about the thirteen. We want to do the same.' "
    "({n} people, {city}).",
]
OWN_WORDS = [
    "제 스스로 결정한 것입니다. 누구도 강요하지 않았습니다.",
    "I decided this myself. Nobody forced me or tricked me. I want my family to know that.",
    "한국에 가서 자유롭게 살고 싶습니다. 납치가 아닙니다.",
    "I chose to leave. I am not being taken anywhere against my will.",
    "아이에게 더 나은 삶을 주고 싶어서 떠나기로 했습니다.",
    "I have thought about this for three years. It is my own choice.",
    "돈을 더 보내라는 압박 때문이 아니라, 제 삶을 위해서입니다.",
]
NOTES = [
    "Called via the broker; she sounded calm. Next call Thursday evening.",
    "통화함. 다음 연락은 목요일 밤. 감시가 심해졌다고 함.",
    "Asked about her mother in Hyesan; explained we cannot contact family inside.",
    "Broker confirms the route through Laos is open again this month.",
    "여권은 아직 관리인이 가지고 있음. 휴무일에 출발 예정.",
    "Medical: mild asthma, needs an inhaler before the river crossing.",
    "Press asked about 'a group from Shanghai'. No comment given, as agreed.",
    "Partner acknowledged receipt; waiting for their decision.",
]
CONSENT_WORDS = [
    "정부에 제 이름과 나이를 알려도 됩니다.",
    "You may tell the Ministry my name and where I am, so they can help.",
    "Via the broker: she agrees that her details go to the Ministry, not to the press.",
    "Verbal, on the phone: yes, share what they need to get me out.",
]
GROUP_LABELS = [
    "{city} restaurant group",
    "{city} traders",
    "Family from {origin}",
    "{city} factory workers",
    "Night-shift group, {city}",
]
