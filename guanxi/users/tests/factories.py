import factory
from django.contrib.auth.models import Group

from guanxi.users.models import Team, User
from guanxi.users.services import team_save


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"团队{n}")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return team_save(team=model_class(*args, **kwargs))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "guanxi-demo")
    team = None

    @factory.post_generation
    def role(obj: User, create: bool, extracted: str | None, **kwargs):
        if extracted:
            obj.groups.add(Group.objects.get(name=extracted))
        if create:
            obj.save()
