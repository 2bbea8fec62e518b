"""Korean surnames: Hangul, North Korean Hangul, Hanja and romanized variants.

The 100+ most frequent surnames of the 2015 South Korean census plus the compound surnames.
Variants are lower-case ASCII as :func:`haven.matching.romanization.ascii_fold` leaves them
(MR ŏ/ŭ become eo/eu, so "Ch'ŏn" is listed as "cheon"; without breves it is "chon"). They cover
Revised Romanization, McCune–Reischauer with and without breves, the North Korean system, common
passport and popular spellings, and a few Koryo-saram (Russian-language) forms.
Several surnames share a spelling (Song: 송 or 성; Yu: 유 or 류); lookups return all of them.
"""

from __future__ import annotations

from haven.matching.romanization import ascii_fold

# (South Korean Hangul, North Korean Hangul or "", Hanja, romanized variants)
SURNAMES: tuple[tuple[str, str, str, str], ...] = (
    ("김", "", "金", "kim gim ghim keem kym"),
    ("이", "리", "李", "lee yi rhee ri li rhie i yee ree rie leigh"),
    ("박", "", "朴", "park pak bak bahk parg pack"),
    ("최", "", "崔", "choi choe chwe choy tsoi tsoy"),
    ("정", "", "鄭丁", "jung jeong chung chong cheong joung jong jeung ten"),
    ("강", "", "姜康江", "kang gang kan"),
    ("조", "", "趙曺", "cho jo joe jho tyo"),
    ("윤", "", "尹", "yoon yun youn yune"),
    ("장", "", "張蔣章", "jang chang zhang"),
    ("임", "림", "林任", "lim im rim yim leem rhim"),
    ("한", "", "韓", "han hahn"),
    ("오", "", "吳", "oh o"),
    ("서", "", "徐", "seo suh so sur"),
    ("신", "", "申辛愼", "shin sin sheen"),
    ("권", "", "權", "kwon gwon kweon kwun kwen"),
    ("황", "", "黃", "hwang whang"),
    ("안", "", "安", "ahn an aan"),
    ("송", "", "宋", "song soung"),
    ("전", "", "全田錢", "jeon jun chun chon cheon jeun jon"),
    ("홍", "", "洪", "hong"),
    ("유", "류", "柳劉兪", "yu yoo ryu rhyu lyu you ryoo"),
    ("고", "", "高", "ko go koh goh"),
    ("문", "", "文", "moon mun moun"),
    ("양", "량", "梁楊", "yang ryang lyang yhang"),
    ("손", "", "孫", "son sohn shon"),
    ("배", "", "裵", "bae pae bai bea pai"),
    ("백", "", "白", "baek paek paik baik back beak pack"),
    ("허", "", "許", "heo hur huh ho hu hoh"),
    ("남", "", "南", "nam"),
    ("심", "", "沈", "shim sim"),
    ("노", "로", "盧魯", "noh roh no ro nho rho"),
    ("하", "", "河", "ha hah"),
    ("곽", "", "郭", "kwak gwak kwack"),
    ("성", "", "成", "sung seong song sŏng seung"),
    ("차", "", "車", "cha char"),
    ("주", "", "朱周", "joo ju chu choo jou"),
    ("우", "", "禹", "woo u wu"),
    ("구", "", "具丘", "koo gu ku goo"),
    ("민", "", "閔", "min"),
    ("나", "라", "羅", "na ra la rah nah"),
    ("진", "", "陳秦晉", "jin chin jhin"),
    ("지", "", "池", "ji chi jee gee"),
    ("엄", "", "嚴", "eom um uhm ŏm om"),
    ("채", "", "蔡", "chae chai che"),
    ("원", "", "元", "won weon"),
    ("천", "", "千", "cheon chun chon"),
    ("방", "", "方房", "bang pang"),
    ("공", "", "孔", "gong kong"),
    ("현", "", "玄", "hyun hyeon hyon"),
    ("함", "", "咸", "ham hahm"),
    ("변", "", "卞邊", "byun byeon pyon pyun byon pyeon"),
    ("염", "렴", "廉", "yeom yum yom ryom ryeom"),
    ("여", "려", "呂", "yeo yuh yo ryo ryeo"),
    ("추", "", "秋", "chu choo"),
    ("도", "", "都", "do doh to"),
    ("소", "", "蘇", "so soh"),
    ("석", "", "石", "seok suk sok seog"),
    ("선", "", "宣", "seon sun son"),
    ("설", "", "薛", "seol sul sol"),
    ("마", "", "馬", "ma mah"),
    ("길", "", "吉", "gil kil"),
    ("연", "련", "延", "yeon yon yun ryon ryeon"),
    ("위", "", "魏", "wi wee"),
    ("표", "", "表", "pyo pyoh phyo"),
    ("명", "", "明", "myung myeong myong"),
    ("기", "", "奇", "ki gi kee"),
    ("반", "", "潘", "ban pan"),
    ("왕", "", "王", "wang"),
    ("금", "", "琴", "geum kum keum gum"),
    ("옥", "", "玉", "ok ock oak"),
    ("육", "륙", "陸", "yuk yook ryuk"),
    ("인", "", "印", "in"),
    ("맹", "", "孟", "maeng meng"),
    ("제", "", "諸", "je che jae"),
    ("모", "", "牟", "mo moh"),
    ("탁", "", "卓", "tak tahk thak"),
    ("국", "", "鞠", "guk kook kuk gook"),
    ("어", "", "魚", "eo uh o"),
    ("은", "", "殷", "eun un"),
    ("편", "", "片", "pyeon pyon pyun phyon phyeon"),
    ("용", "룡", "龍", "yong ryong"),
    ("예", "례", "芮", "ye yeh rye"),
    ("경", "", "景", "kyung gyeong kyong kyeong"),
    ("봉", "", "奉", "bong pong"),
    ("사", "", "史", "sa sah"),
    ("부", "", "夫", "boo bu pu"),
    ("가", "", "賈", "ga ka"),
    ("복", "", "卜", "bok pok"),
    ("태", "", "太", "tae tai thae"),
    ("목", "", "睦", "mok"),
    ("형", "", "邢", "hyung hyeong hyong"),
    ("계", "", "桂", "gye kye"),
    ("피", "", "皮", "pi pee phi"),
    ("두", "", "杜", "doo du tu"),
    ("감", "", "甘", "gam kam"),
    ("음", "", "陰", "eum um"),
    ("빈", "", "賓", "bin pin"),
    ("동", "", "董", "dong tong"),
    ("온", "", "溫", "on ohn"),
    ("호", "", "扈", "ho"),
    ("범", "", "范", "beom bum pom peom"),
    ("좌", "", "左", "jwa chwa"),
    ("팽", "", "彭", "paeng peng phaeng"),
    ("승", "", "承", "seung sung sŭng"),
    ("간", "", "簡", "gan kan"),
    ("상", "", "尙", "sang"),
    ("시", "", "施", "si shi"),
    ("갈", "", "葛", "gal kal"),
    ("단", "", "段", "dan tan"),
    ("견", "", "甄", "gyeon kyun kyon kyeon"),
    ("당", "", "唐", "dang tang"),
    ("남궁", "", "南宮", "namgung namkung namgoong"),
    ("황보", "", "皇甫", "hwangbo hwangpo"),
    ("제갈", "", "諸葛", "jegal chegal"),
    ("선우", "", "鮮于", "seonu sunwoo sonu seonwoo"),
    ("독고", "", "獨孤", "dokgo tokko dokko"),
    ("사공", "", "司空", "sagong sakong"),
    ("서문", "", "西門", "seomun somun"),
)


def _index() -> tuple[dict[str, tuple[str, ...]], dict[str, str], dict[str, str]]:
    by_roman: dict[str, list[str]] = {}
    by_hanja: dict[str, str] = {}
    south: dict[str, str] = {}
    for hangul, north, hanja, variants in SURNAMES:
        south[hangul] = hangul
        if north:
            south[north] = hangul
        for char in hanja if len(hangul) == 1 else (hanja,):
            by_hanja.setdefault(char, hangul)
        for variant in variants.split():
            names = by_roman.setdefault(ascii_fold(variant).replace(" ", ""), [])
            if hangul not in names:
                names.append(hangul)
    return {k: tuple(v) for k, v in by_roman.items()}, by_hanja, south


BY_ROMAN, BY_HANJA, SOUTH_HANGUL = _index()
COMPOUND = frozenset(h for h, *_ in SURNAMES if len(h) == 2)


def surnames_for(romanized: str) -> tuple[str, ...]:
    """South Korean Hangul surnames a romanized surname may stand for: "Rhee" → ("이",)."""
    return BY_ROMAN.get(ascii_fold(romanized).replace(" ", ""), ())


def is_surname(hangul: str) -> bool:
    """True if ``hangul`` is a listed surname in South or North Korean spelling (이, 리, 남궁)."""
    return hangul in SOUTH_HANGUL


def surname_variants(hangul: str) -> tuple[str, ...]:
    """Romanized variants of a surname in either spelling: 리 → ("lee", "yi", "rhee", "ri", …)."""
    south = SOUTH_HANGUL.get(hangul)
    for entry in SURNAMES:
        if entry[0] == south:
            return tuple(entry[3].split())
    return ()
