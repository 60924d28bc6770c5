"""The participants' spawner: DockerSpawner with a size-capped work volume per participant
(src/matchbox/hub/disks.py) that is archived, not reused, when the participant is deleted."""

import asyncio
import os
import time

from dockerspawner import DockerSpawner
from jupyterhub.traitlets import ByteSpecification
from traitlets import Unicode

from matchbox.hub import disks


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
