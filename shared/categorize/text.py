"""A bank memo reduced to what names the merchant.

Banks wrap the merchant's name in noise: acquirer prefixes (``PAG*``, ``MP *``, ``SQ *``,
``PAYPAL *``), channel words (``COMPRA CARTAO``, ``POS DEBIT``), dates, times, card and
store numbers, city and state codes. ``clean`` keeps letters only (accents and case
folded, digits and punctuation dropped); ``tokens`` also drops the channel words, which
say how a payment was made, not what it was for. What stays is mostly the merchant, and
two memos of one merchant from different days embed close together.

The history index must embed ``clean(memo)`` on both sides (stored rows and queries):
``Categorizer.vector`` does it, and whoever fills the index should call it.
"""

from __future__ import annotations

import re

from shared.folding import fold

# Words that describe the payment channel or the bank's bookkeeping, in the memos of
# Brazilian and US banks. General banking vocabulary, not merchants.
_CHANNEL = """
    compra compras cartao cartoes credito debito deb cred pag pagto pagamento pagamentos
    pg pgto parc parcela parcelado elo visa master mastercard maestro no na em de do da
    dos das com por via int internacional nacional autorizado aut automatico estab
    ec mp sq tst pp sp rj mg br bra brl usd us pos purchase debit card recurring
    payment pmt online web www com ach ppd id ref des indn co ltda sa me eireli epp
    ref trx trans transacao txn the of and at to on loja store
"""
# Where the purchase happened says little about what it was: the largest Brazilian and US
# cities and the state codes banks append (general geography, also truncated forms).
_PLACES = """
    sao paulo rio janeiro belo horizonte horizont curitiba porto alegre salvador recife
    fortaleza brasilia goiania manaus belem campinas florianopolis santos niteroi
    guarulhos osasco vitoria natal maceio joao pessoa teresina londrina
    ac al ap am ba ce df es go ma mt ms pa pb pr pe pi rn rs ro rr sc se to
    new york brooklyn los angeles san francisco diego jose chicago houston phoenix
    philadelphia antonio dallas austin seattle boston miami denver atlanta portland
    nashville las vegas detroit minneapolis orlando tampa charlotte
    ny ca tx fl il wa ma co ga or nj pa oh mi nc va az tn nv mn
"""
CHANNEL_WORDS = frozenset(_CHANNEL.split()) | frozenset(_PLACES.split())

_NOT_LETTERS = re.compile(r"[^a-z]+")


def clean(memo: str) -> str:
    """Letters only, one space between words: ``"PAG*IFOOD 02/01 SP"`` -> ``"pag ifood sp"``."""
    return " ".join(_NOT_LETTERS.sub(" ", fold(memo)).split())


def tokens(memo: str) -> list[str]:
    """The words of ``clean(memo)`` that may name a merchant (channel words, places and
    1-letter fragments dropped), in order."""
    # The words of ``clean`` without joining them first.
    words = _NOT_LETTERS.sub(" ", fold(memo)).split()
    return [word for word in words if len(word) > 1 and word not in CHANNEL_WORDS]
