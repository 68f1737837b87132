"""A labelled evaluation set of Brazilian and US bank memos, split by merchant.

Each merchant has one of the 10 default categories; its memos are what banks print for
it: acquirer prefixes (``PAG*``, ``MP *``, ``SQ *``, ``PAYPAL *``, ``TST*``), channel
words (``COMPRA CARTAO``, ``Compra no débito``, ``POS DEBIT``, ``CHECKCARD``), dates and
times, store and card numbers, city and state codes, and truncation to the 22 to 25
characters card networks keep. ``split`` puts each merchant in train or test, never
both, so test memos name merchants the model never saw. Seeded and deterministic.

How this relates to ``shared/categorize/rules.py``: the lists below were written for
this generator, separately, as a picture of what a user's statement holds: big chains,
and many local businesses, some named by their trade (``PADARIA ...``), many not
(``RAIZES DO CAMPO``, a restaurant). Neither file is built from the other and nothing
here is imported by the categorizer. Where both name a nationally known brand, that is
the real world's overlap, and the benchmark prints the accuracy on test memos that
contain no rule keyword beside the overall figure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from shared.domain.categories import DEFAULT_CATEGORIES

FOOD, TRANSPORT, SHOPPING, LEISURE, BILLS, HEALTH, EDUCATION, TRAVEL, INCOME, SAVINGS = (
    name for name, _, _ in DEFAULT_CATEGORIES
)

# (category, kind, Brazilian merchants, US merchants). ``kind`` picks the memo templates.
CATALOGUE: tuple[tuple[str, str, str, str], ...] = (
    (
        FOOD,
        "card",
        """
        IFOOD | RAPPI BRASIL | PADARIA BELLA VISTA | PADARIA REAL DO BAIRRO | RESTAURANTE SABOR
        CASEIRO | CHURRASCARIA GAUCHA | PIZZARIA BRAZ | SUPERMERCADO DIA A DIA | ASSAI
        ATACADISTA | CARREFOUR | PAO DE ACUCAR | ST MARCHE | OXXO | HORTIFRUTI NATURAL DA
        TERRA | RAIZES DO CAMPO | CANTINA DA NONNA | AÇOUGUE BOI GORDO | MC DONALDS |
        BURGER KING | OUTBACK STEAKHOUSE | SUBWAY | SORVETERIA ITALIANA | LANCHONETE DO ZE |
        SUSHI YAMA | BOTECO SAO BENTO | EMPORIO SANTA MARIA | MERCADINHO SAO JORGE |
        SAVEGNAGO | ZAFFARI | CONFEITARIA COLOMBO | COCO BAMBU | MADERO | HABIBS |
        FEIRA LIVRE BARRA FUNDA | CASA DO PAO DE QUEIJO | TEMPERO DA VOVO | SPOLETO
    """,
        """
        TRADER JOE S | WHOLE FOODS MKT | KROGER | SAFEWAY | COSTCO WHSE | PUBLIX | ALDI |
        STARBUCKS | DUNKIN | CHIPOTLE | SHAKE SHACK | SWEETGREEN | PANERA BREAD |
        DOORDASH | GRUBHUB | UBER EATS | JOE S PIZZA | THE CHEESECAKE FACTORY |
        WENDYS | TACO BELL | CHICK-FIL-A | JOES DINER | BLUE BOTTLE COFFEE | H MART |
        SPROUTS FARMERS MKT | HARRIS TEETER | FIVE GUYS | IN N OUT BURGER | OLIVE GARDEN
    """,
    ),
    (
        TRANSPORT,
        "card",
        """
        UBER TRIP | 99 POP | 99APP | CABIFY | AUTO POSTO IMPERIAL | POSTO SHELL | POSTO
        IPIRANGA | PETROBRAS DISTRIBUIDORA | AUTO POSTO TIO SAM | ESTAPAR | ESTACIONAMENTO
        CENTRAL | SEM PARAR | CONECTCAR | VELOE | METRO SP | SPTRANS BILHETE UNICO | CPTM |
        AUTO PECAS BRASIL | BORRACHARIA DO JOAO | OFICINA MECANICA SILVA | LAVA RAPIDO
        BRILHO | DETRAN SP | ZONA AZUL DIGITAL | POSTO ALE | RODOANEL PEDAGIO
    """,
        """
        UBER TRIP | LYFT RIDE | SHELL OIL | CHEVRON | EXXONMOBIL | SUNOCO | WAWA | SPEEDWAY |
        CIRCLE K | BP GAS | MTA NYCT PAYGO | BART CLIPPER | EZPASS | PARKWHIZ | SPOTHERO |
        JIFFY LUBE | AUTOZONE | VALERO | CITGO | LIME SCOOTER | DMV RENEWAL | PEP BOYS
    """,
    ),
    (
        SHOPPING,
        "card",
        """
        AMAZON BR | MERCADO LIVRE | MAGAZINE LUIZA | AMERICANAS | SHOPEE | SHEIN |
        ALIEXPRESS | LOJAS RENNER | RIACHUELO | C&A MODAS | ZARA BRASIL | HERING |
        CENTAURO | NETSHOES | DECATHLON | KALUNGA | CASAS BAHIA | PONTO FRIO | FAST SHOP |
        LEROY MERLIN | TOK STOK | O BOTICARIO | NATURA | PETZ | COBASI | CALCADOS BEIRA RIO
        | LOJA DO CELULAR | ARMARINHO FERNANDO | CAMICADO | DROGA DE PRESENTE | LUPO
    """,
        """
        AMAZON MKTPLACE | AMZN MKTP US | TARGET | BEST BUY | EBAY | ETSY | MACYS |
        NORDSTROM | KOHLS | TJ MAXX | MARSHALLS | NIKE | ADIDAS | IKEA | WAYFAIR |
        HOME DEPOT | LOWES | SEPHORA | ULTA BEAUTY | PETCO | PETSMART | APPLE STORE |
        OLD NAVY | GAP | URBAN OUTFITTERS | BATH BODY WORKS | DICKS SPORTING
    """,
    ),
    (
        LEISURE,
        "card",
        """
        NETFLIX | SPOTIFY | DISNEY PLUS | HBO MAX | GLOBOPLAY | DEEZER | YOUTUBE PREMIUM |
        CINEMARK | CINEPOLIS | KINOPLEX | INGRESSO COM | SYMPLA | EVENTIM | TEATRO
        MUNICIPAL | STEAM GAMES | PLAYSTATION NETWORK | XBOX | NINTENDO ESHOP | BOLICHE
        STRIKE | PARQUE HOPI HARI | BETO CARRERO WORLD | CLUBE PINHEIROS | TWITCH |
        PRIME VIDEO | CRUNCHYROLL | MUSEU DO FUTEBOL
    """,
        """
        NETFLIX COM | SPOTIFY USA | HULU | DISNEY PLUS | MAX STREAMING | PEACOCK |
        PARAMOUNT PLUS | AMC THEATRES | REGAL CINEMAS | FANDANGO | TICKETMASTER |
        LIVE NATION | STEAMPOWERED | PLAYSTATION NETWORK | XBOX LIVE | NINTENDO |
        BRONX ZOO | TOPGOLF | DAVE BUSTERS | SIX FLAGS | AUDIBLE
    """,
    ),
    (
        BILLS,
        "bill",
        """
        ENEL SP | CEMIG | COPEL | LIGHT SA | CPFL ENERGIA | SABESP | COPASA | CEDAE |
        SANEPAR | COMGAS | VIVO FIXO | CLARO NET | TIM CELULAR | OI FIBRA | SKY BRASIL |
        CONDOMINIO EDIFICIO AURORA | IMOBILIARIA LAR IDEAL ALUGUEL | PREFEITURA IPTU |
        PORTO SEGURO | TARIFA PACOTE SERVICOS | ANUIDADE CARTAO | EQUATORIAL ENERGIA |
        NEOENERGIA COELBA | VIVO MOVEL | BRISANET
    """,
        """
        CON EDISON | PG&E | DUKE ENERGY | NATIONAL GRID | COMCAST XFINITY | VERIZON
        WIRELESS | AT&T | T-MOBILE | SPECTRUM | COX COMM | GEICO | PROGRESSIVE INS |
        STATE FARM | ALLSTATE | CITY WATER DEPT | AVALON APTS RENT | SUNRUN |
        GOOGLE FI | MINT MOBILE
    """,
    ),
    (
        HEALTH,
        "card",
        """
        DROGASIL | DROGA RAIA | DROGARIA SAO PAULO | DROGARIA PACHECO | PAGUE MENOS |
        PANVEL | ULTRAFARMA | FARMACIA POPULAR | UNIMED | AMIL | SULAMERICA SAUDE |
        HAPVIDA | LABORATORIO FLEURY | DELBONI AURIEMO | HOSPITAL SIRIO LIBANES | CLINICA
        SORRISO | ODONTO EXCELLENCE | DR CARLOS MENDES CONSULTA | OTICAS CAROL |
        FISIOTERAPIA MOVIMENTO | PSICOLOGA ANA LIMA | DROGARIA ONOFRE | HERMES PARDINI
    """,
        """
        CVS PHARMACY | WALGREENS | RITE AID | LABCORP | QUEST DIAGNOSTICS | KAISER
        PERMANENTE | ONE MEDICAL | CITYMD URGENT CARE | ASPEN DENTAL | LENSCRAFTERS |
        BRIGHT SMILES DDS | DR SMITH MD | GOODRX | ZOCDOC | TEMPLE HEALTH CLINIC
    """,
    ),
    (
        EDUCATION,
        "card",
        """
        UDEMY | COURSERA | ALURA | DUOLINGO | WIZARD IDIOMAS | CCAA | FISK | CULTURA
        INGLESA | COLEGIO BANDEIRANTES | ESCOLA MONTEIRO LOBATO | FACULDADE FIAP |
        UNIVERSIDADE PRESBITERIANA | LIVRARIA CULTURA | SARAIVA | ESTANTE VIRTUAL |
        PAPELARIA ABC | ANGLO VESTIBULARES | KUMON | DESCOMPLICA | HOTMART CURSO
    """,
        """
        UDEMY | COURSERA | MASTERCLASS | SKILLSHARE | CHEGG | PEARSON EDUCATION |
        BARNES NOBLE | NYU BURSAR | STATE UNIVERSITY TUITION | KAPLAN TEST PREP |
        KHAN ACADEMY | BRILLIANT ORG | SCHOLASTIC BOOK FAIRS | CODECADEMY
    """,
    ),
    (
        TRAVEL,
        "card",
        """
        LATAM AIRLINES | GOL LINHAS AEREAS | AZUL LINHAS | DECOLAR | CVC VIAGENS | BOOKING
        COM | AIRBNB | HOTEL IBIS | POUSADA DO SOL | HURB | 123MILHAS | MAXMILHAS |
        LOCALIZA | MOVIDA | UNIDAS | RODOVIARIA TIETE | BUSER | CLICKBUS | VIACAO COMETA
        | RESORT COSTA DO SAUIPE | HOSTEL MARACANA | ACCOR HOTELS
    """,
        """
        DELTA AIR | UNITED AIRLINES | AMERICAN AIRLINES | JETBLUE | SOUTHWEST AIRLINES |
        ALASKA AIR | SPIRIT AIRL | EXPEDIA | HOTELS COM | MARRIOTT | HILTON | HYATT |
        HERTZ RENT A CAR | AVIS | ENTERPRISE RENT | AMTRAK | GREYHOUND | KAYAK |
        HOLIDAY INN EXPRESS | VRBO
    """,
    ),
    (
        INCOME,
        "income",
        """
        ACME TECNOLOGIA LTDA | PREFEITURA DE CAMPINAS | BANCO CENTRAL FOLHA | NUVEM
        SOLUCOES | JOAO PEDRO SOUZA | MARIA CLARA LIMA | CONSULTORIA ALFA | INSS
        BENEFICIO | EDITORA GLOBO | FREELA DESIGN STUDIO | RECEITA FEDERAL RESTITUICAO |
        GRUPO BOTICARIO RH
    """,
        """
        ACME CORP | GLOBEX INC | INITECH | CITY OF AUSTIN | STARK INDUSTRIES | UPWORK |
        FIVERR | JOHN DOE | JANE SMITH | IRS TREAS TAX REF | SSA TREAS | DOORDASH DASHER
    """,
    ),
    (
        SAVINGS,
        "savings",
        """
        XP INVESTIMENTOS | BTG PACTUAL | NUINVEST | RICO INVESTIMENTOS | CLEAR CORRETORA |
        INTER INVEST | TESOURO DIRETO | ITAU PERSONNALITE INVEST | BRADESCO PREVIDENCIA |
        CAIXA POUPANCA | NUBANK CAIXINHA | ORAMA | WARREN INVESTIMENTOS
    """,
        """
        VANGUARD | FIDELITY | SCHWAB BROKERAGE | ROBINHOOD | E TRADE | BETTERMENT |
        WEALTHFRONT | ALLY SAVINGS | MARCUS GOLDMAN | ACORNS | STASH INVEST
    """,
    ),
)

BR_CITIES = (
    "SAO PAULO", "RIO DE JANEIRO", "BELO HORIZONT", "CURITIBA", "PORTO ALEGRE", "SALVADOR",
    "RECIFE", "CAMPINAS", "FLORIANOPOLIS", "BRASILIA", "GOIANIA", "FORTALEZA",
)  # fmt: skip
BR_STATES = ("SP", "RJ", "MG", "PR", "RS", "BA", "PE", "SC", "DF", "GO", "CE")
US_CITIES = (
    "NEW YORK", "BROOKLYN", "AUSTIN", "SAN FRANCISCO", "CHICAGO", "SEATTLE", "BOSTON",
    "MIAMI", "DENVER", "LOS ANGELES", "ATLANTA", "PORTLAND",
)  # fmt: skip
US_STATES = ("NY", "TX", "CA", "IL", "WA", "MA", "FL", "CO", "GA", "OR")

TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("BR", "card"): (
        "COMPRA CARTAO DEB MC {date} {m}",
        "ELO COMPRA {date} {m} {city}",
        "Compra no débito - {Mixed}",
        "Compra com Cartão - {date} {time} {m}",
        "VISA ELECTRON {m} {date}",
        "PAG*{m}",
        "MP *{m}",
        "PAGSEGURO *{m}",
        "EC *{m} {city} BR",
        "{m} {city} {state}",
        "COMPRA {card} {m} {city}",
        "PIX ENVIADO {m}",
        "Pix enviado - {Mixed}",
    ),
    ("BR", "bill"): (
        "PAGTO CONTA {m}",
        "DEB AUT {m}",
        "DEBITO AUTOMATICO {m} {ref}",
        "PAGAMENTO BOLETO {m}",
        "PAG BOLETO {m} {date}",
        "Pagamento de fatura - {Mixed}",
    ),
    ("BR", "income"): (
        "SALARIO {m}",
        "CREDITO SALARIO {m}",
        "PIX RECEBIDO {m}",
        "TED RECEBIDA {m}",
        "Transferência recebida pelo Pix - {Mixed}",
        "SISPAG {m} SALARIO",
        "DOC CRED {m}",
    ),
    ("BR", "savings"): (
        "APLICACAO CDB {m}",
        "RESGATE CDB {m}",
        "APLIC AUT MAIS {m}",
        "TRANSF POUPANCA {m}",
        "APLICACAO {m}",
        "PIX ENVIADO {m}",
    ),
    ("US", "card"): (
        "POS DEBIT {m} {city} {state}",
        "DEBIT CARD PURCHASE - {m} {city} {state}",
        "{m} #{store} {city} {state}",
        "CHECKCARD {mmdd} {m} {city} {state}",
        "SQ *{m} {city} {state}",
        "TST* {m} {city} {state}",
        "PAYPAL *{m}",
        "{m} {phone} {state}",
        "RECURRING PAYMENT {m}",
    ),
    ("US", "bill"): (
        "{m} ONLINE PMT",
        "ACH DEBIT {m} BILL PAY",
        "{m} AUTOPAY {ref}",
        "ONLINE PAYMENT {m} WEB ID {ref}",
        "RECURRING PAYMENT {m}",
    ),
    ("US", "income"): (
        "{m} PAYROLL PPD ID: {ref}",
        "DIRECT DEP {m}",
        "ZELLE FROM {m}",
        "ACH CREDIT {m} DIR DEP",
        "{m} DES:PAYROLL ID:{ref}",
    ),
    ("US", "savings"): (
        "TRANSFER TO {m} {ref}",
        "{m} MONEYLINE PPD",
        "ACH DEBIT {m} INVESTMENT",
        "{m} BUY INVESTMENT",
        "ONLINE TRANSFER TO {m}",
    ),
}


@dataclass(frozen=True, slots=True)
class Merchant:
    name: str
    category: str
    kind: str
    country: str  # "BR" or "US"


@dataclass(frozen=True, slots=True)
class Memo:
    text: str
    category: str
    merchant: Merchant
    amount: int  # minor units, signed


def merchants() -> list[Merchant]:
    found: list[Merchant] = []
    for category, kind, brazil, usa in CATALOGUE:
        for country, names in (("BR", brazil), ("US", usa)):
            for name in " ".join(names.split()).split("|"):
                found.append(Merchant(name.strip(), category, kind, country))
    return found


def split(seed: int = 2026, test_share: float = 0.35) -> tuple[list[Merchant], list[Merchant]]:
    """(train, test) merchants: per category, a ``test_share`` of the merchant names in
    test. A name is on one side only, also when both countries list it (``UDEMY``)."""
    rng = random.Random(seed)
    everyone = merchants()
    names: dict[str, set[str]] = {}
    for merchant in everyone:
        names.setdefault(merchant.category, set()).add(merchant.name)
    held_out: set[str] = set()
    for category in sorted(names):
        shuffled = sorted(names[category])
        rng.shuffle(shuffled)
        held_out.update(shuffled[: max(1, round(len(shuffled) * test_share))])
    train = [m for m in everyone if m.name not in held_out]
    test = [m for m in everyone if m.name in held_out]
    return train, test


def _truncated(text: str, rng: random.Random) -> str:
    # Card networks keep 22 to 25 characters of the merchant's name; many banks show them.
    return text[: rng.randint(22, 25)].rstrip() if rng.random() < 0.3 else text


def _amount(merchant: Merchant, text: str, rng: random.Random) -> int:
    value = int(rng.lognormvariate(4.0, 1.0) * 100) + 100
    if merchant.kind == "income":
        return value * 10
    if merchant.kind == "savings" and (
        "RESGATE" in text or ("TO " not in text and rng.random() < 0.3)
    ):
        return value * 5
    return -value


def memo(merchant: Merchant, rng: random.Random) -> Memo:
    template = rng.choice(TEMPLATES[(merchant.country, merchant.kind)])
    cities, states = (BR_CITIES, BR_STATES) if merchant.country == "BR" else (US_CITIES, US_STATES)
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    text = template.format(
        m=merchant.name,
        Mixed=merchant.name.title(),
        date=f"{day:02d}/{month:02d}",
        mmdd=f"{month:02d}{day:02d}",
        time=f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        city=rng.choice(cities),
        state=rng.choice(states),
        card=f"****{rng.randint(0, 9999):04d}",
        store=f"{rng.randint(1, 9999):04d}",
        ref=f"{rng.randint(10**6, 10**9)}",
        phone=f"{rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
    )
    text = _truncated(" ".join(text.split()), rng)
    return Memo(text, merchant.category, merchant, _amount(merchant, text, rng))


def memos(group: list[Merchant], per_merchant: int, seed: int) -> list[Memo]:
    rng = random.Random(seed)
    return [memo(merchant, rng) for merchant in group for _ in range(per_merchant)]


def user_stream(pool: list[Merchant], length: int, seed: int, size: int = 30) -> Iterator[Memo]:
    """One user's transactions: ``size`` merchants of ``pool``, visited with Zipf-like
    frequencies (a few often, most rarely), each visit a fresh memo."""
    rng = random.Random(seed)
    chosen = rng.sample(pool, min(size, len(pool)))
    weights = [1 / (rank + 1) for rank in range(len(chosen))]
    for merchant in rng.choices(chosen, weights, k=length):
        yield memo(merchant, rng)
