"""What several benchmarks share: a Korean text that fills any length, and the CPU they ran on."""
import os
import platform
import subprocess

# Two sentences of economic news, about 40 tokens; repeated, they fill any sequence length.
FILLER = ('정부는 오늘 경제정책방향을 발표하고 내년 성장률 전망치를 제시했다. 수출 회복과 내수 활성화를 '
          '위해 재정을 조기 집행하고 반도체 투자에 세제 혜택을 늘리기로 했다. ')


def fill(seq_len, n):
    """n texts that fill seq_len tokens and are not much longer: tokenizers read the whole text."""
    return [FILLER * (seq_len // 40 + 2)] * n


def lscpu():
    """lscpu's fields ({} where it cannot run)."""
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, v in (line.split(':', 1) for line in out.splitlines() if ':' in line)}


def cpu_name():
    return lscpu().get('Model name') or platform.processor() or platform.machine()


def cpu_line():
    """The CPU's name, its cores, and its AVX-512, AMX and VNNI flags."""
    flags = ' '.join(f for f in lscpu().get('Flags', '').split() if f.startswith(('avx512', 'amx', 'avx_vnni')))
    return '%s, %d cores; %s' % (cpu_name(), len(os.sched_getaffinity(0)), flags)
