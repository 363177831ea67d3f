from decimal import Decimal

import factory

from guanxi.commerce.models import PriceList, Product
from guanxi.commerce.services import LineInput


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"PUMP-{n:03d}")
    name = factory.Sequence(lambda n: f"工业离心泵 {n} 型")
    unit = "台"
    price = Decimal("1000.00")
    tax_rate = Decimal("13")
    warranty_months = 12


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"价目表{n}")
    currency = "CNY"


def line(product: Product | None = None, quantity: str = "2", **kwargs: object) -> LineInput:
    """A line input for services: a product line unless ``description`` and
    ``unit_price`` are given."""
    return LineInput(product=product, quantity=quantity, **kwargs)
