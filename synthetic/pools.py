"""Small hand-written pools of invented names, places and variants for the synthetic sample (cp1252-safe)."""

from __future__ import annotations

HOME = "NLD"

# Citizenship groups: code -> (weight, female given names, male given names, family names, phone prefix).
# Every name here is a common first or family name combined at random: no real person is described.
GROUPS: dict[str, tuple[float, list[str], list[str], list[str], str]] = {
    "NLD": (
        28,
        ["Sanne", "Lotte", "Femke", "Anouk", "Zoë", "Chloë", "Noor", "Eva"],
        ["Daan", "Bram", "Joël", "Sem", "Thijs", "Noël", "Mohammed", "Ruben"],
        ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Jong", "Mulder", "van Dijk"],
        "+31 6",
    ),
    "ROU": (
        10,
        ["Ioana", "Elena", "Andreea", "Alina", "Cristina"],
        ["Andrei", "Mihai", "Florin", "Ionel", "Alexandru"],
        ["Popescu", "Ionescu", "Dumitru", "Stan", "Constantin", "Munteanu"],
        "+40 7",
    ),
    "BGR": (
        8,
        ["Desislava", "Elena", "Galina", "Radka", "Maria"],
        ["Georgi", "Dimitar", "Ivan", "Nikolai", "Aleksandr"],
        ["Petrov", "Georgiev", "Dimitrov", "Todorov", "Stoyanov"],
        "+359 8",
    ),
    "POL": (
        7,
        ["Zofia", "Agnieszka", "Józefa", "Katarzyna", "Anna"],
        ["Józef", "Piotr", "Tomasz", "Krzysztof", "Marek"],
        ["Nowak", "Wójcik", "Kowalski", "Lewandowski", "Kaczmarek", "Król"],
        "+48 5",
    ),
    "UKR": (
        7,
        ["Olena", "Oksana", "Iryna", "Natalia", "Yulia"],
        ["Sergei", "Oleksandr", "Aleksandr", "Dmytro", "Andriy"],
        ["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko"],
        "+380 6",
    ),
    "NGA": (
        7,
        ["Blessing", "Joy", "Faith", "Chioma", "Adaeze"],
        ["Chinedu", "Emeka", "Oluwaseun", "Ifeanyi", "Mohammed"],
        ["Okafor", "Adeyemi", "Okonkwo", "Eze", "Balogun", "Nwosu"],
        "+234 80",
    ),
    "VNM": (
        5,
        ["Lan", "Hoa", "Mai", "Linh", "Thao"],
        ["Minh", "Tuan", "Huy", "Duc", "Long"],
        ["Nguyen", "Tran", "Le", "Pham", "Hoang"],
        "+84 9",
    ),
    "CHN": (
        3,
        ["Na", "Mei", "Fang", "Xiu"],
        ["Wei", "Jun", "Hao", "Lei"],
        ["Wang", "Li", "Zhang", "Liu", "Chen"],
        "+86 13",
    ),
    "MAR": (
        5,
        ["Fatima", "Khadija", "Amina", "Salma", "Yasmina"],
        ["Mohammed", "Youssef", "Yusuf", "Karim", "Hamza"],
        ["El Amrani", "Benali", "Bouzid", "El Idrissi", "Ait Taleb"],
        "+212 6",
    ),
    "SYR": (
        4,
        ["Rania", "Lina", "Noura", "Hala"],
        ["Muhammad", "Ahmad", "Omar", "Khaled"],
        ["Haddad", "Al-Masri", "Khoury", "Nasser"],
        "+963 9",
    ),
    "ERI": (
        3,
        ["Senait", "Helen", "Selam", "Almaz"],
        ["Yonas", "Tesfaye", "Dawit", "Mehari"],
        ["Gebremariam", "Kidane", "Haile", "Tesfay"],
        "+291 7",
    ),
    "BRA": (
        4,
        ["Conceição", "Luísa", "Fernanda", "Joana"],
        ["João", "Luís", "Sebastião", "Thiago"],
        ["Gonçalves", "Araújo", "Magalhães", "Simões", "da Silva"],
        "+55 11",
    ),
    "HUN": (
        3,
        ["Zsófia", "Réka", "Krisztina", "Erzsébet"],
        ["Gábor", "László", "Zoltán", "Tamás"],
        ["Nagy", "Kovács", "Tóth", "Szabó", "Horváth"],
        "+36 30",
    ),
    "TUR": (
        3,
        ["Elif", "Zeynep", "Gül", "Büsra"],
        ["Yusuf", "Mehmet", "Emre", "Ömer"],
        ["Öztürk", "Çelik", "Kaya", "Demir", "Koç", "Özdemir"],
        "+90 5",
    ),
    "ESP": (
        2,
        ["María", "Lucía", "Begoña", "Núria"],
        ["José", "Iñigo", "Ramón", "Jesús"],
        ["García", "Núñez", "Peña", "Muñoz", "Martínez"],
        "+34 6",
    ),
    "DNK": (
        1,
        ["Mette", "Signe", "Åse"],
        ["Søren", "Jørgen", "Bjørn"],
        ["Sørensen", "Østergaard", "Ågård", "Møller"],
        "+45 2",
    ),
}

# Countries of exploitation abroad (for home nationals or onward trafficking).
ABROAD = ["BEL", "DEU", "FRA", "GBR", "ESP", "ITA"]

# Transliteration variants: any spelling in a group may be written for any other.
VARIANT_GROUPS = [
    ["Mohammed", "Muhammad", "Mohamed", "Mohammad"],
    ["Aleksandr", "Alexander", "Aleksander"],
    ["Oleksandr", "Olexander", "Aleksandr"],
    ["Sergei", "Sergey", "Serhiy"],
    ["Yusuf", "Youssef", "Yousef"],
    ["Olena", "Elena", "Yelena"],
    ["Dmytro", "Dmitri", "Dmitry"],
    ["Andriy", "Andrii", "Andrei"],
    ["Yulia", "Julia", "Yuliya"],
    ["Natalia", "Natalya", "Nataliya"],
    ["Khaled", "Khalid"],
    ["Ahmad", "Ahmed"],
    ["Tesfaye", "Tesfay"],
    ["Al-Masri", "Almasri", "El Masri"],
    ["El Amrani", "Elamrani"],
    ["Georgiev", "Gueorguiev"],
    ["Shevchenko", "Chevtchenko"],
]
VARIANTS: dict[str, list[str]] = {}
for _group in VARIANT_GROUPS:
    for _name in _group:
        VARIANTS.setdefault(_name, [])
        VARIANTS[_name] += [n for n in _group if n != _name and n not in VARIANTS[_name]]
VARIANTS = {k: v for k, v in VARIANTS.items() if v}

# Dropping accents, as a system without them would.
STRIP_ACCENTS = str.maketrans(
    {
        "à": "a",
        "á": "a",
        "â": "a",
        "ã": "a",
        "ä": "a",
        "å": "a",
        "ç": "c",
        "è": "e",
        "é": "e",
        "ê": "e",
        "ë": "e",
        "ì": "i",
        "í": "i",
        "î": "i",
        "ï": "i",
        "ñ": "n",
        "ò": "o",
        "ó": "o",
        "ô": "o",
        "õ": "o",
        "ö": "o",
        "ø": "o",
        "ù": "u",
        "ú": "u",
        "û": "u",
        "ü": "u",
        "Å": "A",
        "Ç": "C",
        "É": "E",
        "Ö": "O",
        "Ø": "O",
        "Ü": "U",
        "Ó": "O",
        "Á": "A",
    }
)

# Invented streets and towns; each town lies in one region of the `region` code list.
STREETS = [
    "Kanaalstraat",
    "Lindenlaan",
    "Molenweg",
    "Dorpsstraat",
    "Havenkade",
    "Kerkplein",
    "Beukenhof",
    "Stationsweg",
    "Zuiderdijk",
    "Populierenlaan",
    "Rozengracht",
    "Vlasakker",
]
TOWNS = {
    "capital": ["Hoofdstad", "Amstelwijk"],
    "north": ["Noordhaven", "Wadderveen", "Kwelderum"],
    "south": ["Zuidermaas", "Heuvelrade", "Kempenbeek"],
    "east": ["Oosterzand", "Venhorst", "Achterbroek"],
    "west": ["Westerdam", "Duinwijk", "Zeeveld"],
}

# Values no provider's mapping or the standard knows, for the `unmapped_code` defect.
JUNK_CODES = ["Q", "ARCHIVED", "ZZ", "n.v.t.", "??", "OTHER-9", "xx", "99X"]
