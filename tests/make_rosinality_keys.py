"""Expected rosinality/stylegan2-pytorch state-dict keys and shapes, derived independently of handsoff_nb.

This script restates, by hand, the construction rules of rosinality's `model.py` (`Generator.__init__`,
`StyledConv`, `ModulatedConv2d`, `ToRGB`, `Discriminator`, `ResBlock`, `ConvLayer`), as read from
rosinality/stylegan2-pytorch@master. It does not import our package. It is documentation for how
`tests/rosinality_keys_tiny.json` (generator) and `tests/rosinality_dkeys_tiny.json` (discriminator)
were produced; `tests/test_stylegan2.py` also calls it for configurations too large to check in.

    python tests/make_rosinality_keys.py   # rewrites the two JSON files
"""
import json, math
from pathlib import Path

# The tiny configuration the JSON files describe (GenConfig.tiny() in handsoff_nb).
TINY = dict(size=32, style_dim=64, n_mlp=2, channels={4: 64, 8: 64, 16: 64, 32: 32})
BLUR_TAPS = 4  # len(blur_kernel) for the default [1, 3, 3, 1]


def rosinality_channels(channel_multiplier=2):
    "The hard-coded `self.channels` table of rosinality's Generator/Discriminator."
    m = channel_multiplier
    return {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * m, 128: 128 * m, 256: 64 * m,
            512: 32 * m, 1024: 16 * m}


def generator_keys(size, style_dim, n_mlp, channels):
    "Ordered {key: shape} of rosinality's Generator(size, style_dim, n_mlp).state_dict()."
    k, D = {}, style_dim

    def modconv(p, cin, cout, ks, upsample=False):
        # ModulatedConv2d: own parameter `weight`, then child `blur` (only if upsample), then `modulation`
        k[p + 'weight'] = [1, cout, cin, ks, ks]
        if upsample: k[p + 'blur.kernel'] = [BLUR_TAPS, BLUR_TAPS]
        k[p + 'modulation.weight'] = [cin, D]   # EqualLinear(style_dim, in_channel)
        k[p + 'modulation.bias'] = [cin]

    def styled(p, cin, cout, upsample=False):  # StyledConv: conv, noise, activate
        modconv(p + 'conv.', cin, cout, 3, upsample)
        k[p + 'noise.weight'] = [1]
        k[p + 'activate.bias'] = [cout]          # FusedLeakyReLU(out_channel)

    def to_rgb(p, cin, upsample=True):  # ToRGB: own `bias`, then `upsample`, then `conv`
        k[p + 'bias'] = [1, 3, 1, 1]
        if upsample: k[p + 'upsample.kernel'] = [BLUR_TAPS, BLUR_TAPS]
        modconv(p + 'conv.', cin, 3, 1)

    for i in range(1, n_mlp + 1):  # style = Sequential(PixelNorm(), EqualLinear × n_mlp)
        k[f'style.{i}.weight'] = [D, D]
        k[f'style.{i}.bias'] = [D]
    k['input.input'] = [1, channels[4], 4, 4]
    styled('conv1.', channels[4], channels[4])
    to_rgb('to_rgb1.', channels[4], upsample=False)
    log_size = int(math.log(size, 2))
    num_layers = (log_size - 2) * 2 + 1
    convs, rgbs, cin = {}, {}, channels[4]
    for i in range(3, log_size + 1):
        cout, j = channels[2 ** i], i - 3
        styled(f'convs.{2 * j}.', cin, cout, upsample=True)
        styled(f'convs.{2 * j + 1}.', cout, cout)
        cin = cout
    for i in range(3, log_size + 1):  # to_rgbs is registered after convs (and the empty upsamples)
        to_rgb(f'to_rgbs.{i - 3}.', channels[2 ** i])
    for layer_idx in range(num_layers):
        res = 2 ** ((layer_idx + 5) // 2)
        k[f'noises.noise_{layer_idx}'] = [1, 1, res, res]
    return k


def discriminator_keys(size, channels):
    "Ordered {key: shape} of rosinality's Discriminator(size).state_dict()."
    k = {}

    def conv_layer(p, cin, cout, ks, downsample=False, bias=True, activate=True):
        i = 0
        if downsample: k[f'{p}{i}.kernel'] = [BLUR_TAPS, BLUR_TAPS]; i += 1
        k[f'{p}{i}.weight'] = [cout, cin, ks, ks]
        if bias and not activate: k[f'{p}{i}.bias'] = [cout]
        if activate:
            i += 1
            if bias: k[f'{p}{i}.bias'] = [cout]

    conv_layer('convs.0.', 3, channels[size], 1)
    log_size, cin = int(math.log(size, 2)), channels[size]
    for n, i in enumerate(range(log_size, 2, -1), start=1):
        cout = channels[2 ** (i - 1)]
        conv_layer(f'convs.{n}.conv1.', cin, cin, 3)
        conv_layer(f'convs.{n}.conv2.', cin, cout, 3, downsample=True)
        conv_layer(f'convs.{n}.skip.', cin, cout, 1, downsample=True, bias=False, activate=False)
        cin = cout
    conv_layer('final_conv.', cin + 1, channels[4], 3)
    c4 = channels[4]
    k['final_linear.0.weight'], k['final_linear.0.bias'] = [c4, c4 * 16], [c4]
    k['final_linear.1.weight'], k['final_linear.1.bias'] = [1, c4], [1]
    return k


if __name__ == '__main__':
    here = Path(__file__).parent
    g = generator_keys(TINY['size'], TINY['style_dim'], TINY['n_mlp'], TINY['channels'])
    d = discriminator_keys(TINY['size'], TINY['channels'])
    dump = lambda keys: '{\n' + ',\n'.join(f'  "{n}": {json.dumps(s)}' for n, s in keys.items()) + '\n}\n'
    (here / 'rosinality_keys_tiny.json').write_text(dump(g))
    (here / 'rosinality_dkeys_tiny.json').write_text(dump(d))
    print(f'{len(g)} generator keys, {len(d)} discriminator keys')
