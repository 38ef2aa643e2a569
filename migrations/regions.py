"""ISO 3166-2 subdivisions as region rows, with English short names as aliases.

Kept apart from the migration so that later data migrations (aliases) can reuse it.
"""

from typing import Any

import pycountry


def region_rows() -> list[dict[str, Any]]:
    rows = []
    for subdivision in pycountry.subdivisions:
        rows.append(
            {
                "code": subdivision.code,
                "country": subdivision.country_code,
                "name": subdivision.name,
                "type": subdivision.type,
                "parent_code": subdivision.parent_code,
                "aliases": [],
            }
        )
    return rows


# Common English short forms and Cyrillic names of the regions along the RU-UA-BY borders
# (and the capitals): what analysts and dashboards actually type.
BORDER_REGION_ALIASES: dict[str, list[str]] = {
    "RU-BEL": ["Belgorod", "Belgorod Oblast", "Belgorod Region", "Белгородская область", "Белгород", "Бєлгородська область", "Білгородська область"],
    "RU-KRS": ["Kursk", "Kursk Oblast", "Kursk Region", "Курская область", "Курск", "Курська область"],
    "RU-BRY": ["Bryansk", "Bryansk Oblast", "Bryansk Region", "Брянская область", "Брянск", "Брянська область"],
    "RU-VOR": ["Voronezh", "Voronezh Oblast", "Voronezh Region", "Воронежская область", "Воронеж"],
    "RU-ROS": ["Rostov", "Rostov Oblast", "Rostov Region", "Ростовская область", "Ростов"],
    "RU-SMO": ["Smolensk", "Smolensk Oblast", "Смоленская область", "Смоленск"],
    "RU-PSK": ["Pskov", "Pskov Oblast", "Псковская область", "Псков"],
    "RU-KDA": ["Krasnodar", "Krasnodar Krai", "Krasnodar Territory", "Краснодарский край", "Кубань"],
    "RU-MOW": ["Moscow", "Moscow City", "Москва"],
    "RU-MOS": ["Moscow Oblast", "Moscow Region", "Московская область", "Подмосковье"],
    "RU-SPE": ["Saint Petersburg", "St Petersburg", "St. Petersburg", "Санкт-Петербург"],
    "UA-59": ["Sumy", "Sumy Oblast", "Sumy Region", "Sumskaya oblast", "Сумська область", "Сумская область", "Суми", "Сумы"],
    "UA-63": ["Kharkiv", "Kharkov", "Kharkiv Oblast", "Kharkiv Region", "Kharkovskaya oblast", "Харківська область", "Харьковская область", "Харків", "Харьков"],
    "UA-74": ["Chernihiv", "Chernigov", "Chernihiv Oblast", "Chernihiv Region", "Чернігівська область", "Черниговская область", "Чернігів", "Чернигов"],
    "UA-14": ["Donetsk", "Donetsk Oblast", "Donetsk Region", "Донецька область", "Донецкая область", "Донецьк", "Донецк"],
    "UA-09": ["Luhansk", "Lugansk", "Luhansk Oblast", "Luhansk Region", "Луганська область", "Луганская область", "Луганськ", "Луганск"],
    "UA-23": ["Zaporizhzhia", "Zaporozhye", "Zaporizhia", "Zaporizhzhia Oblast", "Запорізька область", "Запорожская область", "Запоріжжя", "Запорожье"],
    "UA-65": ["Kherson", "Kherson Oblast", "Kherson Region", "Херсонська область", "Херсонская область", "Херсон"],
    "UA-12": ["Dnipropetrovsk", "Dnipro", "Dnepropetrovsk", "Dnipropetrovsk Oblast", "Дніпропетровська область", "Днепропетровская область"],
    "UA-32": ["Kyiv Oblast", "Kiev Oblast", "Kyiv Region", "Київська область", "Киевская область"],
    "UA-30": ["Kyiv", "Kiev", "Kyiv City", "Київ", "Киев"],
    "UA-43": ["Crimea", "Autonomous Republic of Crimea", "Крим", "Крым"],
    "UA-40": ["Sevastopol", "Севастополь"],
    "UA-18": ["Zhytomyr", "Zhitomir", "Zhytomyr Oblast", "Житомирська область", "Житомирская область"],
    "UA-56": ["Rivne", "Rovno", "Rivne Oblast", "Рівненська область", "Ровенская область"],
    "UA-07": ["Volyn", "Volyn Oblast", "Волинська область", "Волынская область"],
    "UA-48": ["Mykolaiv", "Nikolaev", "Mykolaiv Oblast", "Миколаївська область", "Николаевская область"],
    "UA-51": ["Odesa", "Odessa", "Odesa Oblast", "Одеська область", "Одесская область"],
    "BY-HO": ["Gomel", "Homel", "Gomel Oblast", "Gomel Region", "Гомельская область", "Гомельская вобласць", "Гомель"],
    "BY-BR": ["Brest", "Brest Oblast", "Brest Region", "Брестская область", "Брэсцкая вобласць", "Брест"],
    "BY-HM": ["Minsk", "Minsk City", "Мінск", "Минск"],
    "BY-MI": ["Minsk Oblast", "Minsk Region", "Минская область", "Мінская вобласць"],
    "BY-HR": ["Grodno", "Hrodna", "Grodno Oblast", "Гродненская область", "Гродзенская вобласць"],
    "BY-MA": ["Mogilev", "Mahilyow", "Mogilev Oblast", "Могилёвская область", "Магілёўская вобласць"],
    "BY-VI": ["Vitebsk", "Viciebsk", "Vitebsk Oblast", "Витебская область", "Віцебская вобласць"],
}  # fmt: skip


def translated_aliases(code: str, name: str) -> list[str]:
    """The subdivision's name in Russian, Ukrainian and Belarusian, where pycountry has them."""
    import gettext

    names = []
    for language in ("ru", "uk", "be"):
        try:
            translation = gettext.translation(
                "iso3166-2", pycountry.LOCALES_DIR, languages=[language]
            )
        except OSError:
            continue
        translated = translation.gettext(name)
        if translated != name:
            names.append(translated)
    return names


def region_aliases() -> dict[str, list[str]]:
    """Aliases for every region of RU, UA and BY: curated short forms plus translations."""
    aliases: dict[str, list[str]] = {}
    for country in ("RU", "UA", "BY"):
        for subdivision in pycountry.subdivisions.get(country_code=country):
            names = BORDER_REGION_ALIASES.get(subdivision.code, []) + translated_aliases(
                subdivision.code, subdivision.name
            )
            if names:
                aliases[subdivision.code] = list(dict.fromkeys(names))
    return aliases


def english_names() -> dict[str, str]:
    """The name an English-speaking analyst writes for each border region ("Belgorod Oblast",
    "Kharkiv Oblast", "Kyiv City"): the first curated form that names the kind of region,
    else the first curated form."""
    names = {}
    for code, aliases in BORDER_REGION_ALIASES.items():
        latin = [alias for alias in aliases if alias.isascii()]
        kinds = [alias for alias in latin if alias.endswith((" Oblast", " Krai", " City"))]
        names[code] = (kinds or latin)[0]
    return names
