"""TiC allowed-amounts files (``out_of_network``): one row per provider entry of each
payment."""

from __future__ import annotations

from ratelens.errors import ValidationError
from ratelens.sources import Batches, ReadContext
from ratelens.sources.rates import PLAUSIBLE_MAX
from ratelens.sources.tic.check import Checker
from ratelens.sources.tic.codes import scan, upper_codes, wanted_item
from ratelens.sources.tic.groups import npi_list
from ratelens.sources.tic.output import Output, Root
from ratelens.sources.tic.scan import CHUNK, loads


class AllowedAmounts:
    """One allowed-amounts file: one row per provider entry of each payment."""

    def __init__(self, ctx: ReadContext, chunk_size: int = CHUNK) -> None:
        self.ctx, self.path, self.codes = ctx, ctx.path, upper_codes(ctx.codes)
        self.chunk_size = chunk_size
        self.root = Root(ctx)
        self.out = Output(self.root, ("allowed_amounts",), ctx.file_id)
        self.n_odd, self.first_odd = 0, ""  # allowed amounts <= 0 or > PLAUSIBLE_MAX

    def read(self) -> Batches:
        try:
            for event in scan(self.ctx, {"out_of_network": True}, self.chunk_size).events():
                if event[0] == "value":
                    value = loads(self.path, event[2], event[3], event[1])
                    self.root.add(event[1], value, event[3])
                elif event[0] == "item":
                    self.item(event[3], event[2], event[4])
                if self.out.is_full:
                    yield from self.out.batches()
            if self.n_odd:
                self.ctx.warnings.append(
                    f"{self.path}: {self.n_odd:,} allowed_amount value(s) <= 0 or above "
                    f"{PLAUSIBLE_MAX:,} dollars, loaded (first at {self.first_odd})"
                )
            yield from self.out.batches(final=True)
        finally:
            self.out.close()

    def item(self, data: bytes, index: int, offset: int) -> None:
        where = f"out_of_network[{index}]"
        found = wanted_item(self.path, data, offset, where, self.codes)
        if found is None:
            return
        obj, chk, code = found
        try:
            rows = self.rows(chk, obj, where, code)
        except ValidationError as err:
            if not self.ctx.is_lenient:
                raise
            self.ctx.warnings.append(str(err))
            return
        for row in rows:
            if not 0 < row["allowed_amount"] <= PLAUSIBLE_MAX:
                self.first_odd = self.first_odd or row["locator"]
                self.n_odd += 1
        self.out.add("allowed_amounts", rows)

    def rows(self, chk: Checker, obj: dict, where: str, code: str) -> list[dict]:
        chk.text(obj, "name", where, True)
        head = {
            "file_id": self.ctx.file_id,
            "billing_code": code,
            "billing_code_type": chk.text(obj, "billing_code_type", where, True),
            "billing_code_type_version": str(
                chk.get(obj, "billing_code_type_version", (str, int), where, True)
            ),
            "description": chk.text(obj, "description", where, True),
        }
        rows = []
        for j, amount in enumerate(chk.objects(obj, "allowed_amounts", where)):
            aw = f"{where}.allowed_amounts[{j}]"
            rows += self.amount_rows(chk, amount, aw, head)
        return rows

    def amount_rows(self, chk: Checker, amount: dict, where: str, head: dict) -> list[dict]:
        tin = chk.get(amount, "tin", dict, where, True)
        shared = dict(
            head,
            tin_type=chk.text(tin, "type", f"{where}.tin", True),
            tin_value=str(chk.get(tin, "value", (str, int), f"{where}.tin", True)),
            service_code=chk.texts(amount, "service_code", where),
            billing_class=chk.text(amount, "billing_class", where, True),
            setting=chk.text(amount, "setting", where),
        )
        rows = []
        for k, payment in enumerate(chk.objects(amount, "payments", where)):
            pw = f"{where}.payments[{k}]"
            paid = dict(
                shared,
                allowed_amount=chk.amount(payment, "allowed_amount", pw, []),
                billing_code_modifier=chk.texts(payment, "billing_code_modifier", pw),
            )
            providers: list[dict | None] = [*chk.objects(payment, "providers", pw)] or [None]
            for m, provider in enumerate(providers):
                rows.append(self.provider_row(chk, provider, f"{pw}.providers[{m}]", paid))
        return rows

    @staticmethod
    def provider_row(chk: Checker, provider: dict | None, where: str, paid: dict) -> dict:
        if provider is None:
            return dict(paid, locator=where.rsplit(".", 1)[0], npi=None, n_npi=0)
        npis = npi_list(chk, provider, where)
        billed = chk.amount(provider, "billed_charge", where, [])
        numbers = [str(n) for n in npis]
        return dict(paid, locator=where, billed_charge=billed, npi=numbers, n_npi=len(npis))


def read_allowed_amounts(ctx: ReadContext) -> Batches:
    """Allowed amounts (out-of-network) rows of a file."""
    return AllowedAmounts(ctx).read()
