import factory

from guanxi.customers.models import Channel, Contact, ContactLink, Customer, Tag
from guanxi.customers.services import contact_prepare, customer_prepare
from guanxi.users.tests.factories import UserFactory


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("name",)

    name = factory.Iterator(["展会", "官网", "老客户介绍", "电话营销"])


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"标签{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kind = Customer.Kind.COMPANY
    name = factory.Sequence(lambda n: f"杭州万华化工{n}号有限公司")
    owner = factory.SubFactory(UserFactory)
    province = "浙江省"
    city = "杭州市"
    tier = Customer.Tier.ORDINARY

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        customer = model_class(*args, **kwargs)
        customer_prepare(customer)
        customer.save()
        return customer


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"张三{n}")
    mobile = factory.Sequence(lambda n: f"1380000{n:04d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        contact = model_class(*args, **kwargs)
        contact_prepare(contact)
        contact.save()
        return contact

    @factory.post_generation
    def customer(obj: Contact, create: bool, extracted: Customer | None, **kwargs):
        if create and extracted:
            ContactLink.objects.create(customer=extracted, contact=obj, **kwargs)
