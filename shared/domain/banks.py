"""Banks: reference data, one aggregate per COMPE code with an id derived from the code."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.ids import derived_id


def bank_id_for(code: str) -> UUID:
    """Banks are found by code (imports) and by id (accounts): the id is derived from the code."""
    return derived_id("bank", code)


class Bank(Aggregate):
    class Registered(Aggregate.Created):
        class_version = 1
        code: str
        name: str

    @event(Registered)
    def __init__(self, id: UUID, code: str, name: str) -> None:
        self.code = code
        self.name = name


LOAD_TEST_BANK = ("999", "Load Test Bank")

# A documented subset of the original's 228-row BankSeeder (the largest Brazilian banks
# by COMPE code), plus the test bank. More banks arrive through statement imports.
BRAZILIAN_BANKS: tuple[tuple[str, str], ...] = (
    ("001", "Banco do Brasil S.A."),
    ("033", "Banco Santander (Brasil) S.A."),
    ("041", "Banco do Estado do Rio Grande do Sul S.A."),
    ("070", "BRB - Banco de Brasília S.A."),
    ("077", "Banco Inter S.A."),
    ("104", "Caixa Econômica Federal"),
    ("208", "Banco BTG Pactual S.A."),
    ("212", "Banco Original S.A."),
    ("237", "Banco Bradesco S.A."),
    ("260", "NU Pagamentos S.A. – Nubank"),  # noqa: RUF001 (the real name)
    ("290", "PagSeguro Internet S.A."),
    ("323", "Mercado Pago"),
    ("336", "Banco C6 S.A."),
    ("341", "Itaú Unibanco S.A."),
    ("380", "PicPay Servicos S.A."),
    ("422", "Banco Safra S.A."),
    ("633", "Banco Rendimento S.A."),
    ("655", "Banco Votorantim S.A."),
    ("745", "Banco Citibank S.A."),
    ("748", "Banco Cooperativo Sicredi S.A."),
    ("756", "Banco Cooperativo do Brasil S.A. - Bancoob (Sicoob)"),
    LOAD_TEST_BANK,
)
