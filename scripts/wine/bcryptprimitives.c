/* Test-only stand-in for Windows' bcryptprimitives.dll, which Wine 8.0
 * lacks and Rust's std calls (ProcessPrng) for random bytes. It forwards to
 * advapi32's RtlGenRandom (exported as SystemFunction036). Built from this
 * source by scripts/cross.sh into the Wine prefix only; never shipped: real
 * Windows 10+ has the DLL. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
