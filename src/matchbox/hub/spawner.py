"""The hub's spawner: DockerSpawner with a size-capped work volume per participant
(src/matchbox/hub/disks.py) that is archived, not reused, when the participant is deleted; a
group of its own for each participant's server (recorded in the exchange's roster), and the
instructor's image, group, volumes and environment for the admin's server."""

import asyncio
import html
import os
import time

from dockerspawner import DockerSpawner
from jupyterhub.traitlets import ByteSpecification
from traitlets import Dict, Integer, Unicode, default

from matchbox.hub import disks, exchange


class MatchboxSpawner(DockerSpawner):
    """One container per participant on a work volume of its own, capped in size."""

    work_volume = Unicode(
        "{prefix}-user-{username}",
        help="Name template of the participant's work volume (DockerSpawner's {prefix} and "
             "{username}, the escaped name); it must also be a key of DockerSpawner.volumes.",
    ).tag(config=True)

    disk_limit = ByteSpecification(
        0,
        help="Size of each participant's work volume (e.g. '2G'): an ext4 filesystem of its own "
             "in a sparse file under disks_dir, so a full volume is full for its owner only. "
             "0: plain Docker volumes on the host's disk, no limit.",
    ).tag(config=True)

    disks_dir = Unicode(
        "/var/lib/matchbox-hub/disks",
        help="Folder of the volumes' image files (NAME.img) and of archive/, where a deleted "
             "participant's volume is kept. Must be a host folder mounted into the hub.",
    ).tag(config=True)

    instructor_image = Unicode(
        "", help="Image of the admins' servers (the course, formgrader, grade). '': `image`.",
    ).tag(config=True)

    instructor_gid = Integer(
        2000, help="Group of the admins' servers, which owns the exchange's folders.",
    ).tag(config=True)

    instructor_volumes = Dict(
        help="Volumes of the admins' servers besides `volumes` (the exchange writable, the "
             "grading dir); these win over `volumes` for the same name.",
    ).tag(config=True)

    instructor_environment = Dict(
        help="Environment of the admins' servers besides `environment` (the sandbox service's "
             "socket and image).",
    ).tag(config=True)

    participant_gid_base = Integer(
        10000, help="A participant's server runs as uid 1000 with group participant_gid_base + "
                    "the hub's id of the user, recorded in the exchange's roster, so that a "
                    "submission's group says whose server wrote it.",
    ).tag(config=True)

    languages = Dict(
        {"en": "English", "ja": "日本語 (Japanese)"},
        help="The languages a participant chooses from when their server starts (MATCHBOX_LANG "
             "of the image: the notebooks, JupyterLab's menus and the locale), code -> name shown.",
    ).tag(config=True)

    default_language = Unicode(
        "en", help="The language preselected on the start page (a key of `languages`); the "
                   "instructor's choice for the room (MATCHBOX_HUB_LANG).",
    ).tag(config=True)

    @default("options_form")
    def _language_form(self):
        """The start page's one question: the language. The last choice is preselected."""
        return self._render_language_form

    def _render_language_form(self, spawner):
        chosen = (spawner.user_options or {}).get("language") or self.default_language
        options = "".join(
            f'<option value="{html.escape(code)}"{" selected" if code == chosen else ""}>'
            f"{html.escape(name)}</option>" for code, name in self.languages.items())
        return ('<label for="matchbox-language">Language of the notebooks and menus / '
                'ノートブックとメニューの言語</label>'
                f'<select class="form-control" id="matchbox-language" name="language">{options}</select>')

    @default("options_from_form")
    def _language_from_form(self):
        def options_from_form(formdata):
            language = (formdata.get("language") or [self.default_language])[0]
            if language not in self.languages:
                raise ValueError(f"unknown language {language!r}: choose one of "
                                 + ", ".join(self.languages))
            return {"language": language}
        return options_from_form

    @property
    def language(self):
        """The participant's choice (the API's user_options too), else the room's default."""
        language = (self.user_options or {}).get("language") or self.default_language
        if language not in self.languages:
            raise ValueError(f"unknown language {language!r}: choose one of " + ", ".join(self.languages))
        return language

    @property
    def volume_name(self):
        return self.work_volume.format(**self.template_namespace())

    @property
    def disk_image(self):
        return os.path.join(self.disks_dir, f"{self.volume_name}.img")

    def _prepare_disk(self):
        """The capped volume for this participant: image made (once), attached, volume defined."""
        if not os.path.exists(self.disk_image):
            disks.make_image(self.disk_image, self.disk_limit)
            self.log.info("made %s (%d MB) for %s", self.disk_image, self.disk_limit // 2 ** 20,
                          self.user.name)
        disks.attach_volume(self.client, self.volume_name, self.disk_image, self.log,
                            labels={"matchbox.hub.user": self.user.name})

    async def start(self):
        if self.user.admin:
            self._as_instructor()
        else:
            self._as_participant()
        self.environment = {**self.environment, "MATCHBOX_LANG": self.language}
        return await super().start()

    def _as_participant(self):
        gid = self.participant_gid_base + self.user.id
        exchange.enroll(self.user.name, gid, self.instructor_gid)
        self.extra_create_kwargs = {**self.extra_create_kwargs, "user": f"1000:{gid}"}

    def _as_instructor(self):
        """The instructor image, group, volumes and environment; no CPU limit, as grading runs
        nbgrader here (the kernels have their own limits)."""
        self.image = self.instructor_image or self.image
        self.cpu_limit = None
        self.volumes = {**self.volumes, **self.instructor_volumes}
        self.environment = {**self.environment, **self.instructor_environment}
        # grading keeps each student's private course copy in /tmp: room for -j 4 of a big course
        tmpfs = {**self.extra_host_config.get("tmpfs", {}), "/tmp": "rw,nosuid,nodev,size=4G"}
        self.extra_host_config = {**self.extra_host_config, "group_add": [str(self.instructor_gid)],
                                  "tmpfs": tmpfs}

    async def create_object(self):
        if self.disk_limit:
            await asyncio.get_running_loop().run_in_executor(self.executor, self._prepare_disk)
        return await super().create_object()

    def _archive(self):
        """Keep the deleted participant's work under a new name; nothing is reused by the next
        account of the same name."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        archive = os.path.join(self.disks_dir, "archive")
        os.makedirs(archive, mode=0o700, exist_ok=True)
        volume = disks.inspect_volume(self.client, self.volume_name)  # None: never spawned
        if volume is not None and not (volume.get("Options") or {}).get("device"):
            # a plain volume: copied into a new one, as Docker cannot rename volumes
            kept = f"{self.volume_name}-deleted-{stamp}"
            self.client.create_volume(kept, labels={"matchbox.hub.archived-from": self.user.name})
            disks.run_once(self.client, self.image, ["cp", "-a", "/from/.", "/to/"],
                           {self.volume_name: {"bind": "/from", "mode": "ro"},
                            kept: {"bind": "/to", "mode": "rw"}})
            self.client.remove_volume(self.volume_name)
            self.log.info("archived %s's work: volume %s", self.user.name, kept)
            return
        if volume is not None:
            self.client.remove_volume(self.volume_name)
        if os.path.exists(self.disk_image):
            disks.detach(self.disk_image)
            kept = os.path.join(archive, f"{self.volume_name}-deleted-{stamp}.img")
            os.rename(self.disk_image, kept)
            self.log.info("archived %s's work: %s", self.user.name, kept)

    async def delete_forever(self):
        """Called by JupyterHub when the user is deleted: archive their work volume."""
        await asyncio.get_running_loop().run_in_executor(self.executor, self._archive)
