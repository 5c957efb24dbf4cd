"""Supernets trained elsewhere: Once-for-All's published MobileNetV3 (:mod:`nas.pretrained.ofa`)
and jaxnas supernet folders, as the start of stage 1 (``supernet.init``,
:mod:`nas.pretrained.init`)."""
