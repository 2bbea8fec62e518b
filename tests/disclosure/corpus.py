"""A corpus for the leak check: statements with one true value planted in each (in every spelling
the matcher reads), and innocent statements (common words, public figures, places that are also
cover values) that must pass.

The people: the story's group of three (김선희 Kim Sun-hui alias Jin Meihua, mother 리춘화; 리영호
Ri Yong-ho; 박정민 Pak Jong-min), from Shanxi, through Taiyuan, Luang Namtha, Chiang Rai and a
guesthouse in Chiang Khong, with a broker "Mr Jang"; and, elsewhere in the organisation, 최은정
Choe Un-jong, still waiting for a flight (not in the statements: the blind index must find her),
and 이동 Ri Dong, whose two-syllable name is also a common word ("movement"), not yet safe either,
and 류경애 Ryu Kyong-ae, who arrived years ago (safe: naming her is not a leak of this check's).
"""

from __future__ import annotations

# An innocent sentence the planted values are put into.
FRAME = {
    "en": "Three North Korean restaurant workers from Shanghai arrived in South Korea in April "
    "2016. {} We ask the press to respect their privacy.",
    "ko": "상하이 출신 북한 식당 종업원 3명이 2016년 4월 한국에 도착했습니다. {} 언론의 배려를 부탁드립니다.",
    "zh": "三名来自上海的朝鲜餐厅员工于2016年4月抵达韩国。{} 请媒体尊重他们的隐私。",
}

# (language, planted words, the field the check must report)
PLANTED: list[tuple[str, str, str]] = [
    # 김선희, every romanization, spaced, hyphenated, joined, reversed, capitals, given name alone.
    ("en", "One of them, Kim Sun-hui, spoke to us.", "name"),
    ("en", "One of them, Kim Sun Hui, spoke to us.", "name"),
    ("en", "One of them, KIM Sun-hui, spoke to us.", "name"),
    ("en", "One of them, Kimsunhui, spoke to us.", "name"),
    ("en", "One of them, Kim Sunhui, spoke to us.", "name"),
    ("en", "One of them, Sun-hui Kim, spoke to us.", "name"),
    ("en", "One of them, Gim Seon-hui, spoke to us.", "name"),
    ("en", "One of them, Kim Sŏn-hŭi, spoke to us.", "name"),
    ("en", "One of them, Kim Son-hui, spoke to us.", "name"),
    ("en", "One of them, Kim Son Hui, spoke to us.", "name"),
    ("en", "One of them, Kim Sun-hee, spoke to us.", "name"),
    ("en", "One of them, kim sun hui, spoke to us.", "name"),
    ("en", "One of them, Sun-hui, spoke to us.", "name"),
    ("en", "One of them, Kim\u200bSun-hui, spoke to us.", "name"),
    ("ko", "그중 김선희 씨는 이렇게 말했습니다.", "name"),
    ("ko", "그중 김 선희 씨는 이렇게 말했습니다.", "name"),
    ("ko", "그중 김선희가 말했습니다.", "name"),
    ("ko", "그중 선희 씨가 말했습니다.", "name"),
    # 리영호: North and South spellings (리/이, Ri/Lee/Yi/Rhee/I).
    ("en", "Ri Yong-ho thanked the ministry.", "name"),
    ("en", "Lee Young-ho thanked the ministry.", "name"),
    ("en", "Yi Yŏng-ho thanked the ministry.", "name"),
    ("en", "Rhee Yongho thanked the ministry.", "name"),
    ("en", "I Yong Ho thanked the ministry.", "name"),
    ("en", "Yong-ho Lee thanked the ministry.", "name"),
    ("ko", "이영호 씨가 감사를 전했습니다.", "name"),
    ("ko", "리영호 씨가 감사를 전했습니다.", "name"),
    # 박정민.
    ("en", "Park Jung-min is well.", "name"),
    ("en", "Pak Jong-min is well.", "name"),
    ("en", "Bak Jeong-min is well.", "name"),
    ("en", "Pak Chŏng-min is well.", "name"),
    ("en", "Pak Jongmin is well.", "name"),
    ("ko", "박정민 씨는 건강합니다.", "name"),
    # An alias, a family member's name, the broker's alias, the group's label.
    ("en", "At work she was called Jin Meihua.", "alias"),
    ("zh", "她在餐厅被称为Jin Meihua。", "alias"),
    ("en", "Her mother, Ri Chun-hwa, stayed behind.", "family"),
    ("ko", "어머니 리춘화 씨는 남았습니다.", "family"),
    ("en", "They were helped by Mr Jang.", "broker"),
    ("en", "Staff called them the Taiyuan restaurant three.", "label"),
    # The true origin, the regions and exact place of the journey.
    ("en", "They came from Shanxi.", "origin"),
    ("en", "They came from Shanxi Province.", "origin"),
    ("en", "They left from Taiyuan.", "region"),
    ("en", "They crossed at Luang Namtha.", "region"),
    ("en", "They waited in Chiang Rai.", "region"),
    ("en", "They stayed at the Baan Suan guesthouse.", "place"),
    # Exact dates: a birthday, and days of the journey, in every format.
    ("en", "She was born on 17 March 1994.", "birth"),
    ("en", "She was born on March 17th, 1994.", "birth"),
    ("en", "She was born on 1994-03-17.", "birth"),
    ("ko", "그는 1994년 3월 17일에 태어났습니다.", "birth"),
    ("zh", "她生于1994年3月17日。", "birth"),
    ("en", "They left their workplace on 5 April 2016.", "step"),
    ("en", "They left their workplace on April 5.", "step"),
    ("en", "They left their workplace on 2016.4.5.", "step"),
    ("ko", "그들은 4월 5일에 일터를 떠났습니다.", "step"),
    ("zh", "他们于4月5日离开了工作地点。", "step"),
    # Someone else in the organisation, not yet safe: the blind index.
    ("en", "Choe Un-jong is still waiting.", "index-name"),
    ("en", "Choi Eun-jeong is still waiting.", "index-name"),
    ("ko", "최은정 씨는 아직 기다리고 있습니다.", "index-name"),
    ("en", "Unlike Choi Eun-jeong, they are safe.", "index-name"),
    ("en", "Mr Choe Un-jong is still waiting.", "index-name"),
    ("en", "Ri Dong has not arrived.", "index-name"),
    # A broker's phone number.
    ("en", "Call +86 138 0013 8000 for help.", "index-phone"),
]

# Statements that must pass: cover values that are real places (Shanghai for the true Shanxi),
# countries, public figures, common words in three languages, numbers and months.
INNOCENT: list[tuple[str, str]] = [
    (
        "en",
        "Three North Korean restaurant workers from Shanghai arrived in South Korea in April 2016.",
    ),
    ("en", "They left China through a third country and are now safe in Seoul."),
    ("en", "The group travelled for several weeks through Southeast Asia before their flight."),
    ("en", "The Ministry of Unification confirmed their arrival in April 2016."),
    ("en", "Kim Jong Un's government has called such departures abductions."),
    ("en", "President Moon Jae-in and President Yoon Suk Yeol both spoke about defectors."),
    ("en", "Ryu Kyong-ae, who arrived in 2015, spoke at the event about her new life."),
    ("en", "In 2016, 1,418 North Koreans arrived in the South, according to official figures."),
    ("en", "We thank our partners in Thailand and the staff at Incheon airport."),
    ("en", "Sanctions and pressure to send money home push even trusted workers to leave."),
    ("en", "The women are in good health and have begun their resettlement programme."),
    (
        "en",
        "Song, dance and long hours: work in an overseas restaurant is hard and closely watched.",
    ),
    ("en", "No one should be sent back. The young women chose to leave, in their own words."),
    ("en", "Han River, Namsan Tower and the Korean language classes were their first steps."),
    ("en", "A man in a long coat and a woman with a bag: photographs of this kind are not ours."),
    ("en", "Our statement of 1 May 2017 described the process in general terms."),
    ("en", "They came from Shanghai, where they worked for two years."),
    ("en", "Pyongyang has demanded their return; the government has refused."),
    ("ko", "상하이에서 일하던 북한 식당 종업원 3명이 2016년 4월 한국에 도착했습니다."),
    ("ko", "이들은 제3국을 거쳐 안전하게 서울에 도착했으며 현재 건강합니다."),
    ("ko", "통일부는 이들의 입국 사실을 확인했습니다. 정부는 송환 요구를 거부했습니다."),
    ("ko", "이번 일로 가족들이 피해를 입지 않도록 언론의 각별한 배려를 부탁드립니다."),
    ("ko", "김정은 정권은 이를 납치라고 주장하고 있습니다."),
    ("ko", "정착 지원 프로그램은 한국어 교육과 직업 훈련을 포함합니다."),
    ("ko", "아직 이동 중인 사람이 있는 동안에는 개별 사례에 대해 언급하지 않습니다."),
    ("zh", "三名来自上海的朝鲜餐厅员工于2016年4月抵达韩国。"),
    ("zh", "她们经由第三国离开中国，目前身体健康。"),
    ("zh", "我们请求媒体尊重她们的隐私，不要报道她们的家人。"),
]
